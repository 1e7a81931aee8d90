import { assert, describe, it } from "@effect/vitest"
import { Random } from "../../../src/domain/selection/Random.ts"
import { chiSquare, chiSquareCritical001, countPicks, env, facts, pool, seededEnv, settings } from "./fixtures.ts"

const seeds = [1, 7, 42, 1_000, 65_537]

describe("random", () => {
  it("takes the backend the draw lands on", () => {
    const backends = pool([1, 1, 1, 1])
    const selector = Random.build(backends, { ...env, random: () => 0.6 }, settings)
    assert.strictEqual(selector.pick(backends, facts, undefined)?.spec.name, "b2")
  })

  it("is uniform: χ² of 10,000 picks below the p = 0.001 critical value, for fixed seeds", () => {
    for (const size of [2, 3, 5, 10]) {
      for (const seed of seeds) {
        const backends = pool(Array.from({ length: size }, () => 1))
        const selector = Random.build(backends, seededEnv(seed), settings)
        const picks = Array.from({ length: 10_000 }, () => selector.pick(backends, facts, undefined))
        const expected = backends.map(() => 10_000 / size)
        const statistic = chiSquare(countPicks(backends, picks), expected)
        assert.isBelow(statistic, chiSquareCritical001(size - 1), `${size} backends, seed ${seed}`)
      }
    }
  })

  it("is uniform among the selectable ones when some may not be used", () => {
    for (const seed of seeds) {
      const backends = pool(
        [1, 1, 1, 1, 1, 1],
        (state, i) => i === 0 ? { ...state, healthy: false } : i === 3 ? { ...state, removed: true } : state
      )
      const selector = Random.build(backends, seededEnv(seed), settings)
      const picks = Array.from({ length: 8_000 }, () => selector.pick(backends, facts, new Set(["b5"])))
      const counts = countPicks(backends, picks)
      assert.deepStrictEqual([counts[0], counts[3], counts[5]], [0, 0, 0])
      const selectable = [counts[1] ?? 0, counts[2] ?? 0, counts[4] ?? 0]
      assert.isBelow(chiSquare(selectable, [8_000 / 3, 8_000 / 3, 8_000 / 3]), chiSquareCritical001(2), `seed ${seed}`)
    }
  })

  it("finds none when none is selectable", () => {
    const backends = pool([1, 1], (state) => ({ ...state, healthy: false }))
    assert.isUndefined(Random.build(backends, env, settings).pick(backends, facts, undefined))
    assert.isUndefined(Random.build([], env, settings).pick([], facts, undefined))
  })
})
