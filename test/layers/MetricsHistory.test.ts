/**
 * The trend buffer's sampling on the TestClock: one sample per interval, the oldest dropped once
 * the buffer is full.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { BackendRegistryLive } from "../../src/layers/BackendRegistryLive.ts"
import { MetricsLive } from "../../src/layers/MetricsLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { RateLimiterLive } from "../../src/layers/RateLimiterLive.ts"
import { RetryBudgetLive } from "../../src/layers/RetryBudgetLive.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"
import { Metrics } from "../../src/services/Metrics.ts"

describe("metrics history", () => {
  it.effect("samples every historyInterval and keeps the last historySize samples", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(MetricsLive.pipe(
        Layer.provideMerge(Layer.mergeAll(BackendRegistryLive, RateLimiterLive, RetryBudgetLive)),
        Layer.provide(ProxyConfigLive.fromObject({
          backends: [{ name: "a", url: "http://127.0.0.1:1" }],
          metrics: { historyInterval: "2s", historySize: 3 }
        }))
      ))
      const metrics = Context.get(context, Metrics)
      const registry = Context.get(context, BackendRegistry)
      yield* Effect.yieldNow
      assert.deepStrictEqual(metrics.history().map((s) => s.at), [0])
      for (let second = 1; second <= 4; second++) {
        registry.emit({ _tag: "RequestStarted", at: second * 1000, backend: "a", epoch: 0, attempt: 1 })
        yield* TestClock.adjust("1 second")
      }
      assert.deepStrictEqual(metrics.history().map((s) => s.at), [0, 2_000, 4_000])
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(metrics.history().map((s) => s.at), [2_000, 4_000, 6_000])
      assert.deepStrictEqual(metrics.history().map((s) => s.backends["a"]?.inFlight), [2, 4, 4])
    }))
})
