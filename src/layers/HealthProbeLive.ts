/**
 * Health probes over HTTP: `GET {path}` on the backend's origin (not under the backend URL's own
 * path prefix), on keep-alive connections of their own, apart from the proxied traffic's pools.
 * A 2xx or 3xx within the timeout is healthy; another status, a refused or reset connection, or
 * no answer in time is not. The timeout runs on Effect's `Clock`.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { Agent, request } from "undici"
import { originOf } from "../domain/Backend.ts"
import { formatDuration } from "../domain/config/Units.ts"
import { HealthProbe } from "../services/HealthProbe.ts"
import type { ProbeResult } from "../services/HealthProbe.ts"
import { version } from "../version.ts"

/** Why a probe that got no answer failed, in the words an operator would use. */
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

export const HealthProbeLive = Layer.effect(
  HealthProbe,
  Effect.gen(function*() {
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new Agent({ keepAliveTimeout: 30_000 })),
      (agent) => Effect.promise(() => agent.destroy())
    )
    return HealthProbe.of({
      probe: (backend, settings) =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const timeout = Duration.millis(settings.timeoutMs)
          const status = yield* Effect.tryPromise({
            try: (signal) =>
              request(`${originOf(backend)}${settings.path}`, {
                dispatcher: agent,
                method: "GET",
                signal,
                headers: { "user-agent": `switchyard-health/${version}` }
              }).then(async (response) => {
                await response.body.dump()
                return response.statusCode
              }),
            catch: describeFailure
          }).pipe(
            Effect.timeoutOrElse({
              duration: timeout,
              orElse: () => Effect.fail(`no answer within ${formatDuration(timeout)}`)
            }),
            Effect.result
          )
          if (status._tag === "Failure") return { healthy: false, reason: status.failure } satisfies ProbeResult
          const latencyMs = (yield* Clock.currentTimeMillis) - started
          return status.success >= 200 && status.success < 400
            ? { healthy: true, latencyMs }
            : { healthy: false, reason: `HTTP ${status.success}` }
        })
    })
  })
)
