import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { IpHash } from "../../../src/domain/selection/IpHash.ts"
import { chiSquare, chiSquareCritical001, env, factsFrom, pool, settings } from "./fixtures.ts"

const clients = (count: number) =>
  Array.from({ length: count }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)

describe("ip-hash", () => {
  it("property: a client keeps its backend across many picks while the pool is stable", () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 12 }), (address, size) => {
      const backends = pool(Array.from({ length: size }, (_, i) => 1 + (i % 3)))
      const selector = IpHash.build(backends, env, settings)
      const first = selector.pick(backends, factsFrom(address), undefined)
      for (let i = 0; i < 50; i++) assert.strictEqual(selector.pick(backends, factsFrom(address), undefined), first)
      // A selector rebuilt from the same pool agrees: the choice depends on nothing but the address.
      assert.strictEqual(IpHash.build(backends, env, settings).pick(backends, factsFrom(address), undefined), first)
    }))
  })

  it("spreads distinct clients by weight: χ² of 10,000 addresses below the p = 0.001 critical value", () => {
    for (const weights of [[1, 1, 1, 1], [3, 1], [1, 2, 3, 4, 5]]) {
      const backends = pool(weights)
      const selector = IpHash.build(backends, env, settings)
      const counts = backends.map(() => 0)
      for (const address of clients(10_000)) {
        const index = backends.findIndex((b) => b === selector.pick(backends, factsFrom(address), undefined))
        counts[index] = (counts[index] ?? 0) + 1
      }
      const total = weights.reduce((a, b) => a + b, 0)
      const expected = weights.map((w) => (10_000 * w) / total)
      const statistic = chiSquare(counts, expected)
      assert.isBelow(statistic, chiSquareCritical001(weights.length - 1), `weights ${weights.join("/")}`)
    }
  })

  it("a client whose backend may not be used goes to the next selectable one, and back after", () => {
    const backends = pool([1, 1, 1, 1])
    const selector = IpHash.build(backends, env, settings)
    const address = clients(50).find((a) => selector.pick(backends, factsFrom(a), undefined)?.spec.name === "b2")
    if (address === undefined) return assert.fail("no client of b2 among 50")
    const down = backends.map((state, i) => i === 2 ? { ...state, healthy: false } : state)
    assert.strictEqual(selector.pick(down, factsFrom(address), undefined)?.spec.name, "b3")
    assert.strictEqual(selector.pick(down, factsFrom(address), new Set(["b3"]))?.spec.name, "b0")
    assert.strictEqual(selector.pick(backends, factsFrom(address), undefined)?.spec.name, "b2")
  })

  it("finds none when none is selectable", () => {
    const backends = pool([1, 1], (state) => ({ ...state, removed: true }))
    assert.isUndefined(IpHash.build(backends, env, settings).pick(backends, factsFrom("10.0.0.1"), undefined))
  })
})
