import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { RoundRobin } from "../../../src/domain/selection/RoundRobin.ts"
import { env, facts, pool, settings } from "./fixtures.ts"

describe("round-robin", () => {
  it("takes each backend in turn", () => {
    const backends = pool([1, 1, 1])
    const selector = RoundRobin.build(backends, env, settings)
    const picks = Array.from({ length: 7 }, () => selector.pick(backends, facts, undefined)?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b1", "b2", "b0", "b1", "b2", "b0"])
  })

  it("property: over any number of picks, counts differ by at most one", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 500 }), (size, picks) => {
      const backends = pool(Array.from({ length: size }, () => 1))
      const selector = RoundRobin.build(backends, env, settings)
      const counts = new Map<string, number>()
      for (let i = 0; i < picks; i++) {
        const name = selector.pick(backends, facts, undefined)?.spec.name ?? "none"
        counts.set(name, (counts.get(name) ?? 0) + 1)
      }
      const values = backends.map((b) => counts.get(b.spec.name) ?? 0)
      assert.isAtMost(Math.max(...values) - Math.min(...values), 1)
    }))
  })

  it("skips a full backend and one excluded by a retry, and finds none when all are", () => {
    const backends = pool(
      [1, 1, 1],
      (state, i) => i === 1 ? { ...state, spec: { ...state.spec, maxConnections: 2 }, inFlight: 2 } : state
    )
    const selector = RoundRobin.build(backends, env, settings)
    const picks = Array.from({ length: 4 }, () => selector.pick(backends, facts, new Set(["b2"]))?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b0", "b0", "b0"])
    assert.isUndefined(selector.pick(backends, facts, new Set(["b0", "b2"])))
  })
})
