/**
 * The circuit breaker's clock. The transitions themselves are pure (`domain/breaker/Circuit.ts`,
 * applied by `evolve`); what needs time is turning an open circuit half-open once its open period
 * is over. Each `CircuitOpened` starts a timer on Effect's `Clock` (so `TestClock` drives it),
 * one per backend in a `FiberMap`, that emits `CircuitHalfOpened` at the `until` it names.
 */
import { Clock, Effect, FiberMap, Layer, Stream } from "effect"
import { BackendRegistry } from "../services/BackendRegistry.ts"

export const CircuitBreakerLive = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* BackendRegistry
  const timers = yield* FiberMap.make<string>()

  const halfOpenAt = (backend: string, until: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.sleep(Math.max(0, until - now))
      registry.emit({ _tag: "CircuitHalfOpened", at: yield* Clock.currentTimeMillis, backend })
    })

  const transitions = yield* registry.subscribe()
  for (const state of registry.all()) {
    if (state.circuit._tag === "Open") {
      yield* FiberMap.run(timers, state.spec.name, halfOpenAt(state.spec.name, state.circuit.until))
    }
  }
  yield* Stream.fromSubscription(transitions).pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "CircuitOpened":
          return FiberMap.run(timers, event.backend, halfOpenAt(event.backend, event.until))
        case "BackendRemoved":
          return FiberMap.remove(timers, event.backend)
        default:
          return Effect.void
      }
    }),
    Effect.forkScoped
  )
}))
