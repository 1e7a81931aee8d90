/**
 * Slow start's timer under TestClock: a backend's weight climbs a step at a time over the window
 * and starts again from the bottom when the backend comes back into rotation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { BackendRegistryLive } from "../../src/layers/BackendRegistryLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { SlowStartLive } from "../../src/layers/SlowStartLive.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"

describe("slow start timing", () => {
  it.effect("ramps the weight linearly over the window, and again after the backend comes back", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(SlowStartLive.pipe(
        Layer.provideMerge(BackendRegistryLive),
        Layer.provide(ProxyConfigLive.fromObject({
          backends: [{ name: "a", url: "http://127.0.0.1:1" }],
          slowStart: { window: "5s", minWeightPercent: 10 }
        }))
      ))
      const registry = Context.get(context, BackendRegistry)
      const percent = () => registry.get("a")?.weightPercent
      const climb: Array<number | undefined> = [percent()]
      for (let second = 1; second <= 6; second++) {
        yield* TestClock.adjust("1 second")
        climb.push(percent())
      }
      assert.deepStrictEqual(climb, [10, 20, 40, 60, 80, 100, 100])
      assert.isUndefined(registry.get("a")?.warmingSince)

      registry.emit({ _tag: "HealthChanged", at: 6_000, backend: "a", healthy: false, reason: "probes" })
      registry.emit({ _tag: "HealthChanged", at: 6_000, backend: "a", healthy: true, reason: "probes" })
      yield* Effect.yieldNow
      assert.strictEqual(percent(), 10)
      yield* TestClock.adjust("2500 millis")
      assert.strictEqual(percent(), 40)
      yield* TestClock.adjust("2500 millis")
      assert.strictEqual(percent(), 100)
    }))
})
