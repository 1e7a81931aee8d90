import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { makeHistogram, observe, proxyLatencyBoundaries } from "../../../src/domain/metrics/Histogram.ts"
import { bucketQuantile, countsBetween } from "../../../src/domain/metrics/Quantile.ts"

const boundaries = proxyLatencyBoundaries
const last = boundaries[boundaries.length - 1] ?? 0

/** Durations in seconds, some beyond the last boundary, some exactly on one. */
const duration = fc.oneof(
  fc.double({ min: 0, max: 40, noNaN: true }),
  fc.constantFrom(...boundaries)
)
const durations = fc.array(duration, { minLength: 1, maxLength: 300 })
const quantile = fc.double({ min: 0, max: 1, minExcluded: true, noNaN: true })

const countsOf = (values: ReadonlyArray<number>): Array<number> => {
  const histogram = makeHistogram(boundaries)
  for (const value of values) observe(histogram, value)
  return histogram.counts
}

/** The bounds of the bucket `value` is counted in, as `observe` puts it there. */
const bucketOf = (value: number): { readonly lower: number; readonly upper: number } => {
  const index = boundaries.findIndex((boundary) => value <= boundary)
  if (index === -1) return { lower: last, upper: last }
  return { lower: index === 0 ? 0 : boundaries[index - 1] ?? 0, upper: boundaries[index] ?? 0 }
}

describe("bucketQuantile", () => {
  it("interpolates inside the bucket, as histogram_quantile does", () => {
    // 10 requests: 4 in (0, 1 ms], 6 in (1 ms, 2.5 ms].
    const counts = countsOf([...Array(4).fill(0.0005), ...Array(6).fill(0.002)])
    assert.strictEqual(bucketQuantile(0.2, boundaries, counts), 0.0005)
    assert.strictEqual(bucketQuantile(0.4, boundaries, counts), 0.001)
    assert.closeTo(bucketQuantile(0.7, boundaries, counts) ?? 0, 0.00175, 1e-12)
    assert.strictEqual(bucketQuantile(1, boundaries, counts), 0.0025)
  })

  it("answers the last boundary for a rank above every boundary, and nothing for no requests", () => {
    assert.strictEqual(bucketQuantile(0.99, boundaries, countsOf([0.01, 45, 60])), last)
    assert.isUndefined(bucketQuantile(0.5, boundaries, countsOf([])))
  })

  it("never decreases as q grows", () =>
    fc.assert(fc.property(durations, quantile, quantile, (values, a, b) => {
      const counts = countsOf(values)
      const [low, high] = a <= b ? [a, b] : [b, a]
      assert.isAtMost(bucketQuantile(low, boundaries, counts) ?? 0, bucketQuantile(high, boundaries, counts) ?? 0)
    })))

  it("lies in the bucket of the true quantile, so within one bucket width of it", () =>
    fc.assert(fc.property(durations, quantile, (values, q) => {
      const sorted = [...values].sort((x, y) => x - y)
      // The k-th smallest observation, k = ceil(q × n): the one histogram_quantile aims at.
      const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0
      const estimate = bucketQuantile(q, boundaries, countsOf(values)) ?? Number.NaN
      const { lower, upper } = bucketOf(truth)
      assert.isAtLeast(estimate, lower)
      assert.isAtMost(estimate, upper)
      if (truth <= last) assert.isAtMost(Math.abs(estimate - truth), upper - lower)
    })))
})

describe("countsBetween", () => {
  it("the counts between two readings are the histogram of what was observed between them", () =>
    fc.assert(fc.property(durations, durations, (before, after) => {
      const histogram = makeHistogram(boundaries)
      for (const value of before) observe(histogram, value)
      const older = histogram.counts.slice()
      for (const value of after) observe(histogram, value)
      assert.deepStrictEqual(countsBetween(older, histogram.counts), countsOf(after))
    })))

  it("reads a histogram not there before as counted from zero", () => {
    assert.deepStrictEqual(countsBetween(undefined, [1, 2, 0]), [1, 2, 0])
  })
})
