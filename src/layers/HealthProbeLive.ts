/**
 * Health probes on the backend's origin (not under the backend URL's own path prefix), on
 * connections of their own, apart from the proxied traffic's pools: `GET {path}` over HTTP/1.1,
 * where a 2xx or 3xx within the timeout is healthy; or with `grpc`, gRPC's `Health/Check` over
 * HTTP/2 (`GrpcHealthCheck.ts`). Another answer, a refused or reset connection, or no answer in
 * time is unhealthy, with its reason. The timeout runs on Effect's `Clock`.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { Agent, request } from "undici"
import { originOf } from "../domain/Backend.ts"
import type { BackendSpec } from "../domain/Backend.ts"
import { formatDuration } from "../domain/config/Units.ts"
import { GrpcHealthChecks } from "../http/upstream/GrpcHealthCheck.ts"
import { HealthProbe } from "../services/HealthProbe.ts"
import type { ProbeResult } from "../services/HealthProbe.ts"
import { version } from "../version.ts"

/** Why a probe failed, in the words an operator would use; a reason already in words stays as it is. */
const describeFailure = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused"
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "connection reset"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found"
    default:
      return error instanceof Error ? error.message : String(error)
  }
}

/**
 * A discovered member (an address in its URL) is probed as the name it was resolved from: the
 * `Host`, which undici also takes as the TLS name, so its certificate checks as the traffic's does.
 */
const probeHeaders = (backend: BackendSpec): Record<string, string> => {
  const agent = `switchyard-health/${version}`
  if (backend.resolvedFrom === undefined) return { "user-agent": agent }
  const port = new URL(backend.url).port
  return { "user-agent": agent, host: port === "" ? backend.resolvedFrom : `${backend.resolvedFrom}:${port}` }
}

/** `GET {path}`: a 2xx or 3xx is healthy. */
const httpProbe = (agent: Agent, backend: BackendSpec, path: string): Effect.Effect<void, unknown> =>
  Effect.tryPromise({
    try: (signal) =>
      request(`${originOf(backend)}${path}`, {
        dispatcher: agent,
        method: "GET",
        signal,
        headers: probeHeaders(backend)
      }).then(async (response) => {
        await response.body.dump()
        return response.statusCode
      }),
    catch: (error) => error
  }).pipe(
    Effect.flatMap((status) => status >= 200 && status < 400 ? Effect.void : Effect.fail(`HTTP ${status}`))
  )

export const HealthProbeLive = Layer.effect(
  HealthProbe,
  Effect.gen(function*() {
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new Agent({ keepAliveTimeout: 30_000 })),
      (agent) => Effect.promise(() => agent.destroy())
    )
    const grpc = yield* Effect.acquireRelease(
      Effect.sync(() => new GrpcHealthChecks()),
      (checks) => Effect.sync(() => checks.destroy())
    )
    return HealthProbe.of({
      probe: (backend, settings) =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const timeout = Duration.millis(settings.timeoutMs)
          const probe = settings.grpc === true
            ? grpc.check(backend, settings.timeoutMs)
            : httpProbe(agent, backend, settings.path)
          const answer = yield* probe.pipe(
            Effect.mapError(describeFailure),
            Effect.timeoutOrElse({
              duration: timeout,
              orElse: () => Effect.fail(`no answer within ${formatDuration(timeout)}`)
            }),
            Effect.result
          )
          if (answer._tag === "Failure") return { healthy: false, reason: answer.failure } satisfies ProbeResult
          return { healthy: true, latencyMs: (yield* Clock.currentTimeMillis) - started }
        })
    })
  })
)
