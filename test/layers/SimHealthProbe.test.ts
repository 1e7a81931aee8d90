/**
 * The strategy lab's health probe: a simulated backend refuses probes exactly while it is down,
 * by the clock's time, and is healthy at once otherwise.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import type { SimulatedBackend } from "../../src/domain/sim/BackendModel.ts"
import { SimHealthProbeLive } from "../../src/layers/SimHealthProbeLive.ts"
import { HealthProbe } from "../../src/services/HealthProbe.ts"

const backend = (name: string, changes: SimulatedBackend["changes"]): SimulatedBackend => ({
  name,
  latency: { _tag: "Fixed", ms: 5 },
  errorFraction: 0,
  resetFraction: 0,
  overloadFraction: 0,
  retryAfterMs: 1_000,
  capacity: undefined,
  changes
})

const dies = backend("a", [{ atMs: 10_000, down: true }, { atMs: 10_000, slowdown: 4 }, { atMs: 20_000, down: false }])
const settings = { path: "/health", intervalMs: 1_000, timeoutMs: 500 }

/** The probe of `name` at each of `times`, in order. */
const probesAt = (name: string, times: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const { probe } = yield* HealthProbe
    const results: Array<string> = []
    for (const at of times) {
      yield* TestClock.setTime(at)
      const result = yield* probe({ name, url: "http://127.0.0.1:1", weight: 1 }, settings)
      results.push(result.healthy ? `${at} healthy` : `${at} ${result.reason}`)
    }
    return results
  }).pipe(Effect.provide(SimHealthProbeLive([dies, backend("b", [])])))

describe("SimHealthProbe", () => {
  it.effect("a backend refuses probes from the instant it goes down until the instant it is back", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* probesAt("a", [0, 9_999, 10_000, 15_000, 19_999, 20_000, 30_000]), [
        "0 healthy",
        "9999 healthy",
        "10000 connection refused",
        "15000 connection refused",
        "19999 connection refused",
        "20000 healthy",
        "30000 healthy"
      ])
    }))

  it.effect("a backend that never goes down, or one the scenario does not name, is always healthy", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* probesAt("b", [0, 10_000]), ["0 healthy", "10000 healthy"])
      assert.deepStrictEqual(yield* probesAt("z", [10_000]), ["10000 healthy"])
    }))

  it.effect("a healthy probe answers at once: its latency is zero", () =>
    Effect.gen(function*() {
      const { probe } = yield* HealthProbe
      assert.deepStrictEqual(yield* probe({ name: "a", url: "http://127.0.0.1:1", weight: 1 }, settings), {
        healthy: true,
        latencyMs: 0
      })
    }).pipe(Effect.provide(SimHealthProbeLive([dies]))))
})
