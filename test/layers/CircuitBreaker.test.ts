/**
 * The breaker's timing under TestClock: opened by failures, half-open exactly when its open
 * period ends, the period doubling on each re-trip.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { BackendEvent, RequestOutcome } from "../../src/domain/BackendEvent.ts"
import { BackendRegistryLive } from "../../src/layers/BackendRegistryLive.ts"
import { CircuitBreakerLive } from "../../src/layers/CircuitBreakerLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"

const breaker = (extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(CircuitBreakerLive.pipe(
      Layer.provideMerge(BackendRegistryLive),
      Layer.provide(ProxyConfigLive.fromObject({
        backends: ["a", "b", "c"].map((name) => ({ name, url: "http://127.0.0.1:1" })),
        circuitBreaker: { failureThreshold: 2, resetTimeout: "10s", halfOpenRequests: 1 },
        ...extra
      }))
    ))
    const registry = Context.get(context, BackendRegistry)
    const events: Array<BackendEvent> = []
    yield* Stream.fromSubscription(yield* registry.subscribe()).pipe(
      Stream.runForEach((e) => Effect.sync(() => events.push(e))),
      Effect.forkScoped
    )
    const request = (at: number, outcome: RequestOutcome) => {
      const epoch = registry.get("a")?.epoch ?? 0
      registry.emit({ _tag: "RequestStarted", at, backend: "a", epoch, attempt: 1 })
      registry.emit({ _tag: "RequestFinished", at, backend: "a", epoch, outcome, latencyMs: 1 })
    }
    const circuit = () => registry.get("a")?.circuit._tag
    const transitions = () => events.filter((e) => e._tag.startsWith("Circuit")).map((e) => `${e._tag}@${e.at}`)
    return { request, circuit, transitions }
  })

describe("circuit breaker timing", () => {
  it.effect("opens after failureThreshold failures and half-opens exactly resetTimeout later", () =>
    Effect.gen(function*() {
      const { circuit, request, transitions } = yield* breaker()
      request(0, "connect-failed")
      request(0, "timeout")
      yield* Effect.yieldNow
      assert.strictEqual(circuit(), "Open")
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual(circuit(), "Open")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(circuit(), "HalfOpen")
      assert.deepStrictEqual(transitions(), ["CircuitOpened@0", "CircuitHalfOpened@10000"])
    }))

  it.effect("a trial success closes it; a trial failure re-opens it for twice as long", () =>
    Effect.gen(function*() {
      const { circuit, request, transitions } = yield* breaker()
      request(0, "reset")
      request(0, "reset")
      yield* Effect.yieldNow
      yield* TestClock.adjust("10 seconds")
      request(10_000, "server-error")
      yield* Effect.yieldNow
      assert.strictEqual(circuit(), "Open")
      yield* TestClock.adjust("19999 millis")
      assert.strictEqual(circuit(), "Open")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(circuit(), "HalfOpen")
      request(30_000, "success")
      yield* Effect.yieldNow
      assert.strictEqual(circuit(), "Closed")
      assert.deepStrictEqual(transitions(), [
        "CircuitOpened@0",
        "CircuitHalfOpened@10000",
        "CircuitOpened@10000",
        "CircuitHalfOpened@30000",
        "CircuitClosed@30000"
      ])
    }))

  it.effect("with outlierDetection, each ejection stays out baseEjectionTime longer than the last, up to the max", () =>
    Effect.gen(function*() {
      const { circuit, request, transitions } = yield* breaker({
        outlierDetection: { baseEjectionTime: "10s", maxEjectionTime: "25s", maxEjectionPercent: 50 }
      })
      let now = 0
      const periods: Array<number> = []
      for (let ejection = 0; ejection < 3; ejection++) {
        request(now, "reset")
        if (ejection === 0) request(now, "reset")
        yield* Effect.yieldNow
        const opened = now
        while (circuit() === "Open") {
          yield* TestClock.adjust("1 second")
          now += 1_000
        }
        periods.push(now - opened)
      }
      assert.deepStrictEqual(periods, [10_000, 20_000, 25_000])
      assert.deepStrictEqual(transitions().slice(0, 4), [
        "CircuitOpened@0",
        "CircuitHalfOpened@10000",
        "CircuitOpened@10000",
        "CircuitHalfOpened@30000"
      ])
    }))
})
