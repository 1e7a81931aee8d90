/**
 * Health probes on the backend's origin (not under the backend URL's own path prefix), on
 * connections of their own, apart from the proxied traffic's pools: `GET {path}` over HTTP/1.1,
 * where a 2xx or 3xx within the timeout is healthy; or with `grpc`, gRPC's `Health/Check` over
 * HTTP/2 (`GrpcHealthCheck.ts`). Another answer, a refused or reset connection, or no answer in
 * time is unhealthy, with its reason. The timeout runs on Effect's `Clock`.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { formatDuration } from "../domain/config/Units.ts"
import { GrpcHealthChecks } from "../http/upstream/GrpcHealthCheck.ts"
import { HttpHealthChecks } from "../http/upstream/HttpHealthCheck.ts"
import { HealthProbe } from "../services/HealthProbe.ts"
import type { ProbeResult } from "../services/HealthProbe.ts"

/** Why a probe failed, in the words an operator would use; a reason already in words stays as it is. */
const describeFailure = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused"
    case "ECONNRESET":
      return "connection reset"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found"
    default:
      return error instanceof Error ? error.message : String(error)
  }
}

export const HealthProbeLive = Layer.effect(
  HealthProbe,
  Effect.gen(function*() {
    const http = yield* Effect.acquireRelease(
      Effect.sync(() => new HttpHealthChecks()),
      (checks) => Effect.sync(() => checks.destroy())
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
            : http.check(backend, settings.path, settings.timeoutMs)
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
