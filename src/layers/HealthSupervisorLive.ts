/**
 * Active health checks: one supervised fiber per backend (a `FiberMap` keyed by name) that sends
 * `GET {path}` to the backend's origin every `interval`, and turns each answer into a
 * `ProbeSucceeded` or `ProbeFailed` event; `evolve` decides when consecutive results flip health.
 * A 2xx or 3xx answer within `timeout` is healthy; anything else, or no answer, is not.
 *
 * What to probe, and how, is each backend's own policy (`probe`, from its pool's `healthCheck`),
 * so probes follow the registry: a backend added, or re-added with new settings by a reload,
 * (re)starts its fiber; one removed, or left without health checks, stops. How a backend is
 * asked is the `HealthProbe` port's business.
 */
import { Clock, Duration, Effect, FiberMap, Layer, Schedule, Stream } from "effect"
import type { BackendSpec } from "../domain/Backend.ts"
import type { BackendPolicy, ProbeSettings } from "../domain/BackendPolicy.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { HealthProbe } from "../services/HealthProbe.ts"

export const HealthSupervisorLive = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* BackendRegistry
  const { probe } = yield* HealthProbe

  const probeOnce = (spec: BackendSpec, settings: ProbeSettings) =>
    Effect.gen(function*() {
      const result = yield* probe(spec, settings)
      const at = yield* Clock.currentTimeMillis
      const backend = spec.name
      registry.emit(
        result.healthy
          ? { _tag: "ProbeSucceeded", at, backend, latencyMs: result.latencyMs }
          : { _tag: "ProbeFailed", at, backend, reason: result.reason }
      )
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
