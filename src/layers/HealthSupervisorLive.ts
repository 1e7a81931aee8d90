/**
 * Active health checks: one supervised fiber per backend (a `FiberMap` keyed by name) that sends
 * `GET {path}` to the backend's origin every `interval`, and turns each answer into a
 * `ProbeSucceeded` or `ProbeFailed` event; `evolve` decides when consecutive results flip health.
 * A 2xx or 3xx answer within `timeout` is healthy; anything else, or no answer, is not.
 *
 * What to probe, and how, is each backend's own policy (`probe`, from its pool's `healthCheck`),
 * so probes follow the registry: a backend added, or re-added with new settings by a reload,
 * (re)starts its fiber; one removed, or left without health checks, stops. Probes use their own
 * keep-alive connections, apart from the proxied traffic's pools.
 */
import { Clock, Duration, Effect, FiberMap, Layer, Schedule, Stream } from "effect"
import { Agent, request } from "undici"
import { originOf } from "../domain/Backend.ts"
import type { BackendSpec } from "../domain/Backend.ts"
import type { BackendPolicy, ProbeSettings } from "../domain/BackendPolicy.ts"
import { formatDuration } from "../domain/config/Units.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
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

export const HealthSupervisorLive = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* BackendRegistry
  const agent = yield* Effect.acquireRelease(
    Effect.sync(() => new Agent({ keepAliveTimeout: 30_000 })),
    (agent) => Effect.promise(() => agent.destroy())
  )

  const probeOnce = (spec: BackendSpec, probe: ProbeSettings) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const timeout = Duration.millis(probe.timeoutMs)
      const status = yield* Effect.tryPromise({
        try: (signal) =>
          request(`${originOf(spec)}${probe.path}`, {
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
      const at = yield* Clock.currentTimeMillis
      const backend = spec.name
      if (status._tag === "Failure") registry.emit({ _tag: "ProbeFailed", at, backend, reason: status.failure })
      else if (status.success >= 200 && status.success < 400) {
        registry.emit({ _tag: "ProbeSucceeded", at, backend, latencyMs: at - started })
      } else registry.emit({ _tag: "ProbeFailed", at, backend, reason: `HTTP ${status.success}` })
    })

  const probes = yield* FiberMap.make<string>()
  const supervise = (spec: BackendSpec, policy: BackendPolicy) =>
    policy.probe === undefined
      ? FiberMap.remove(probes, spec.name)
      : FiberMap.run(
        probes,
        spec.name,
        probeOnce(spec, policy.probe).pipe(Effect.repeat(Schedule.fixed(Duration.millis(policy.probe.intervalMs))))
      )

  // Subscribe before reading the current pool, so a backend added in between is not missed.
  const membership = yield* registry.subscribe()
  for (const state of registry.all()) if (!state.removed) yield* supervise(state.spec, state.policy)
  yield* Stream.fromSubscription(membership).pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "BackendAdded":
          return supervise(event.spec, event.policy)
        case "BackendRemoved":
          return FiberMap.remove(probes, event.backend)
        default:
          return Effect.void
      }
    }),
    Effect.forkScoped
  )
}))
