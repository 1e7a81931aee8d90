/**
 * Slow start's clock. Whether a backend is warming up is part of its state (`evolve` starts the
 * ramp when it joins or comes back into rotation); what needs time is moving it along. For each
 * backend that starts warming, a timer on Effect's `Clock` (so `TestClock` drives it), one per
 * backend in a `FiberMap`, emits `WarmupProgressed` at each step of `rampSteps`. A backend that
 * leaves rotation and comes back starts a new ramp, replacing the old timer.
 */
import { Clock, Effect, FiberMap, Layer, Stream } from "effect"
import { backendOf } from "../domain/BackendEvent.ts"
import type { SlowStartSettings } from "../domain/BackendPolicy.ts"
import { rampSteps } from "../domain/load/SlowStart.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"

export const SlowStartLive = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* BackendRegistry
  const timers = yield* FiberMap.make<string>()
  /** The ramp each backend's timer is running: the time it started warming. */
  const running = new Map<string, number>()

  const ramp = (backend: string, since: number, slowStart: SlowStartSettings) =>
    Effect.forEach(rampSteps(slowStart), (step) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Math.max(0, since + step.afterMs - now))
        registry.emit({ _tag: "WarmupProgressed", at: yield* Clock.currentTimeMillis, backend, percent: step.percent })
      }), { discard: true })

  /** Starts (or restarts) the ramp of a backend that began warming since its timer was set. */
  const follow = (backend: string) => {
    const state = registry.get(backend)
    const since = state?.warmingSince
    const slowStart = state?.policy.slowStart
    if (since === undefined || slowStart === undefined) {
      running.delete(backend)
      return state === undefined ? FiberMap.remove(timers, backend) : Effect.void
    }
    if (running.get(backend) === since) return Effect.void
    running.set(backend, since)
    return FiberMap.run(timers, backend, ramp(backend, since, slowStart))
  }

  const lifecycle = yield* registry.subscribe()
  yield* Effect.forEach(registry.all(), (state) => follow(state.spec.name), { discard: true })
  yield* Stream.fromSubscription(lifecycle).pipe(
    Stream.runForEach((event) => event._tag === "WarmupProgressed" ? Effect.void : follow(backendOf(event))),
    Effect.forkScoped
  )
}))
