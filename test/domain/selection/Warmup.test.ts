/** Slow start as the strategies see it: a backend at `weightPercent` < 100 gets that share of its weight. */
import { assert, describe, it } from "@effect/vitest"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { strategies } from "../../../src/domain/selection/Strategies.ts"
import type { Strategy } from "../../../src/domain/selection/Strategy.ts"
import { countPicks, env, facts, factsFrom, pool, seededEnv, settings } from "./fixtures.ts"

/** Two equal backends, the second warming up at `percent`. */
const warming = (percent: number, tweak: (state: BackendState) => BackendState = (s) => s) =>
  pool([1, 1], (state, i) => tweak(i === 1 ? { ...state, weightPercent: percent, warmingSince: 0 } : state))

const picks = (strategy: Strategy, backends: ReadonlyArray<BackendState>, n: number, seed = 1) => {
  const selector = strategy.build(backends, seededEnv(seed), settings)
  return countPicks(backends, Array.from({ length: n }, () => selector.pick(backends, facts, undefined)))
}

describe("slow start in the strategies", () => {
  it("weighted-round-robin gives a backend at 25 % exactly a quarter of its share, spread out", () => {
    assert.deepStrictEqual(picks(strategies["weighted-round-robin"], warming(25), 500), [400, 100])
  })

  it("weighted-random draws it in proportion to its current weight", () => {
    const [warm, cold] = picks(strategies["weighted-random"], warming(25), 20_000)
    assert.closeTo((cold ?? 0) / 20_000, 0.2, 0.015)
    assert.strictEqual((warm ?? 0) + (cold ?? 0), 20_000)
  })

  it("least-connections counts its requests as 100/p each", () => {
    const pick = (inFlight: readonly [number, number]) => {
      const backends = warming(50, (s) => ({ ...s, inFlight: inFlight[s.spec.name === "b0" ? 0 : 1] ?? 0 }))
      return strategies["least-connections"].build(backends, env, settings).pick(backends, facts, undefined)?.spec.name
    }
    // At 50 %, n in flight weigh 2n + 1: the warming backend wins only against 2n + 2 or more.
    assert.strictEqual(pick([0, 0]), "b0")
    assert.strictEqual(pick([1, 0]), "b0", "1 against a weighted 1: the tie goes to the first")
    assert.strictEqual(pick([2, 0]), "b1")
    assert.strictEqual(pick([3, 1]), "b0")
    assert.strictEqual(pick([4, 1]), "b1")
  })

  it("the latency strategies cost it 100/p times more", () => {
    const measured = (s: BackendState): BackendState => ({
      ...s,
      latency: { value: 10, at: 0, samples: 1 },
      peakLatency: { value: 10, at: 0, samples: 1 }
    })
    for (const name of ["least-ewma", "least-dynamic-score", "p2c-ewma"] as const) {
      const backends = warming(50, measured)
      const [warm, cold] = picks(strategies[name], backends, 100)
      assert.deepStrictEqual([warm, cold], [100, 0], name)
      const faster = warming(50, (s) => {
        const m = measured(s)
        return s.spec.name === "b1"
          ? { ...m, latency: { value: 4, at: 0, samples: 1 }, peakLatency: { value: 4, at: 0, samples: 1 } }
          : m
      })
      assert.deepStrictEqual(picks(strategies[name], faster, 100), [0, 100], `${name}: 4 ms at 50 % beats 10 ms`)
    }
  })

  it("the hashing strategies keep placing clients by configured weight (a ramp would re-deal them)", () => {
    for (const name of ["ip-hash", "consistent-hash"] as const) {
      const steady = pool([1, 1])
      const ramping = warming(10)
      const before = strategies[name].build(steady, env, settings)
      const during = strategies[name].build(ramping, env, settings)
      for (let i = 0; i < 200; i++) {
        const client = factsFrom(`10.0.${i >> 8}.${i & 255}`)
        assert.strictEqual(
          during.pick(ramping, client, undefined)?.spec.name,
          before.pick(steady, client, undefined)?.spec.name
        )
      }
    }
  })
})
