import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { WeightedRandom } from "../../../src/domain/selection/WeightedRandom.ts"
import { indexAt } from "../../../src/domain/selection/Weights.ts"
import { chiSquare, chiSquareCritical001, countPicks, env, facts, pool, seededEnv, settings } from "./fixtures.ts"

const seeds = [1, 7, 42, 1_000, 65_537]

describe("weighted-random", () => {
  it("maps the draw onto the line of cumulative weights", () => {
    // Weights 1, 1, 2: the line is [0, 1) b0, [1, 2) b1, [2, 4) b2.
    const backends = pool([1, 1, 2])
    const at = (u: number) =>
      WeightedRandom.build(backends, { ...env, random: () => u }, settings).pick(backends, facts, undefined)?.spec.name
    assert.deepStrictEqual(
      [at(0), at(0.24), at(0.25), at(0.49), at(0.5), at(0.99)],
      ["b0", "b0", "b1", "b1", "b2", "b2"]
    )
  })

  it("shares follow the weights: χ² of 20,000 picks below the p = 0.001 critical value, for fixed seeds", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => 1 + (i % 4))
    const pools = [[5, 1, 1], [1, 2, 3, 4], [10, 1], [3, 3, 3, 1, 1, 1, 7, 2, 2, 5], twenty]
    for (const weights of pools) {
      const total = weights.reduce((a, b) => a + b, 0)
      for (const seed of seeds) {
        const backends = pool(weights)
        const selector = WeightedRandom.build(backends, seededEnv(seed), settings)
        const picks = Array.from({ length: 20_000 }, () => selector.pick(backends, facts, undefined))
        const expected = weights.map((w) => (20_000 * w) / total)
        assert.isBelow(
          chiSquare(countPicks(backends, picks), expected),
          chiSquareCritical001(weights.length - 1),
          `weights ${weights.join("/")}, seed ${seed}`
        )
      }
    }
  })

  it("shares follow the weights among the selectable ones only", () => {
    for (const seed of seeds) {
      // b0 (weight 6) is full and b3 excluded: b1 and b2 share 3 : 1.
      const backends = pool(
        [6, 3, 1, 4],
        (state, i) => i === 0 ? { ...state, spec: { ...state.spec, maxConnections: 1 }, inFlight: 1 } : state
      )
      const selector = WeightedRandom.build(backends, seededEnv(seed), settings)
      const picks = Array.from({ length: 9_000 }, () => selector.pick(backends, facts, new Set(["b3"])))
      const counts = countPicks(backends, picks)
      assert.deepStrictEqual([counts[0], counts[3]], [0, 0])
      const statistic = chiSquare([counts[1] ?? 0, counts[2] ?? 0], [6_750, 2_250])
      assert.isBelow(statistic, chiSquareCritical001(1), `seed ${seed}`)
    }
  })

  it("finds none when none is selectable", () => {
    const backends = pool([2, 3], (state) => ({ ...state, circuit: { _tag: "Open", until: 1, trips: 1, reason: "r" } }))
    assert.isUndefined(WeightedRandom.build(backends, env, settings).pick(backends, facts, undefined))
  })

  it("property: indexAt finds the first share that holds the point, by scan or by binary search", () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 64 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (weights, u) => {
        const sums = new Float64Array(weights.length)
        weights.reduce((total, w, i) => (sums[i] = total + w), 0)
        const point = u * (sums[sums.length - 1] ?? 0)
        const expected = sums.findIndex((sum) => point < sum)
        assert.strictEqual(indexAt(sums, point), expected)
      }
    ))
  })
})
