/** Nearest-rank percentiles: always a measured value, in order, the 100th the maximum. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { percentile, sortLatencies } from "../../../src/domain/sim/Percentiles.ts"

const sorted = (values: ReadonlyArray<number>) => sortLatencies(Float64Array.from(values))

describe("percentiles", () => {
  it("picks the ⌈p/100 · n⌉-th smallest value", () => {
    const values = sorted([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])
    assert.strictEqual(percentile(values, 50), 5)
    assert.strictEqual(percentile(values, 90), 9)
    assert.strictEqual(percentile(values, 99), 10)
    assert.strictEqual(percentile(values, 100), 10)
    assert.strictEqual(percentile(values, 1), 1)
    assert.strictEqual(percentile(sorted([]), 50), 0)
  })

  it("property: the p-th percentile is a measured value with at least p% of the values at or below it", () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      (values, p) => {
        const ordered = sorted(values)
        const value = percentile(ordered, p)
        const atOrBelow = values.filter((v) => v <= value).length
        const below = values.filter((v) => v < value).length
        return values.includes(value) && atOrBelow >= (p / 100) * values.length - 1e-9 &&
          below < (p / 100) * values.length + 1e-9
      }
    ))
  })

  it("property: percentiles rise with p, and the 100th is the maximum", () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      (values, p, q) => {
        const ordered = sorted(values)
        const [low, high] = p <= q ? [p, q] : [q, p]
        return percentile(ordered, low) <= percentile(ordered, high) && percentile(ordered, 100) === Math.max(...values)
      }
    ))
  })
})
