import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { isSelectable } from "../../../src/domain/Availability.ts"
import { LeastConnections } from "../../../src/domain/selection/LeastConnections.ts"
import { env, facts, pool, settings } from "./fixtures.ts"

const withInFlight = (counts: ReadonlyArray<number>) =>
  pool(counts.map(() => 1), (state, i) => ({ ...state, inFlight: counts[i] ?? 0 }))

describe("least-connections", () => {
  it("takes the backend with the fewest requests in flight", () => {
    const backends = withInFlight([4, 2, 7, 3])
    const selector = LeastConnections.build(backends, env, settings)
    assert.strictEqual(selector.pick(backends, facts, undefined)?.spec.name, "b1")
  })

  it("ties take turns: an idle pool is served in rotation, not by the first backend", () => {
    const backends = withInFlight([0, 0, 0])
    const selector = LeastConnections.build(backends, env, settings)
    const picks = Array.from({ length: 6 }, () => selector.pick(backends, facts, undefined)?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b1", "b2", "b0", "b1", "b2"])
  })

  it("ties take turns among the least loaded only", () => {
    const backends = withInFlight([1, 3, 1, 2])
    const selector = LeastConnections.build(backends, env, settings)
    const picks = Array.from({ length: 6 }, () => selector.pick(backends, facts, undefined)?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b2", "b0", "b2", "b0", "b2"])
  })

  it("property: never picks a backend with more in flight than another selectable one", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ inFlight: fc.nat(8), healthy: fc.boolean(), excluded: fc.boolean() }), {
        minLength: 1,
        maxLength: 16
      }),
      fc.nat(20),
      (shapes, warmup) => {
        const backends = pool(shapes.map(() => 1), (state, i) => ({
          ...state,
          inFlight: shapes[i]?.inFlight ?? 0,
          healthy: shapes[i]?.healthy ?? true
        }))
        const excluded = new Set(backends.filter((_, i) => shapes[i]?.excluded === true).map((b) => b.spec.name))
        const selector = LeastConnections.build(backends, env, settings)
        for (let i = 0; i < warmup; i++) selector.pick(backends, facts, excluded)
        const pick = selector.pick(backends, facts, excluded)
        const selectable = backends.filter((b) => isSelectable(b, excluded))
        if (selectable.length === 0) return assert.isUndefined(pick)
        assert.isDefined(pick)
        assert.strictEqual(pick?.inFlight, Math.min(...selectable.map((b) => b.inFlight)))
      }
    ))
  })

  it("property: k tied backends each get exactly m of k·m picks", () => {
    fc.assert(fc.property(
      fc.array(fc.nat(3), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 10 }),
      (counts, rounds) => {
        const backends = withInFlight(counts)
        const least = Math.min(...counts)
        const tied = backends.filter((b) => b.inFlight === least)
        const selector = LeastConnections.build(backends, env, settings)
        const picks = Array.from({ length: tied.length * rounds }, () => selector.pick(backends, facts, undefined))
        for (const backend of tied) assert.strictEqual(picks.filter((p) => p === backend).length, rounds)
      }
    ))
  })

  it("reads in-flight counts from the live pool, not from the pool it was built with", () => {
    const built = withInFlight([0, 0])
    const selector = LeastConnections.build(built, env, settings)
    const live = built.map((state, i) => ({ ...state, inFlight: i === 0 ? 5 : 1 }))
    assert.strictEqual(selector.pick(live, facts, undefined)?.spec.name, "b1")
  })
})
