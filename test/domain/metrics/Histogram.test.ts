import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  cumulativeBuckets,
  cumulativeBucketsOfRanks,
  eventLoopDelayBoundaries,
  makeHistogram,
  observe
} from "../../../src/domain/metrics/Histogram.ts"

const observations = fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { maxLength: 300 })

describe("buckets from ranks", () => {
  it("counts exactly what a histogram that saw every observation counts", () =>
    fc.assert(fc.property(observations, (values) => {
      const sorted = [...values].sort((a, b) => a - b)
      const histogram = makeHistogram(eventLoopDelayBoundaries)
      for (const value of values) observe(histogram, value)
      assert.deepStrictEqual(
        cumulativeBucketsOfRanks(eventLoopDelayBoundaries, sorted.length, (rank) => sorted[rank - 1] ?? 0),
        cumulativeBuckets(histogram)
      )
    })))

  it("reads each rank a logarithmic number of times, not every observation", () => {
    let reads = 0
    const buckets = cumulativeBucketsOfRanks([0.02], 1_000_000, (rank) => {
      reads++
      return rank <= 999_990 ? 0.01 : 0.06
    })
    assert.deepStrictEqual(buckets, [[0.02, 999_990]])
    assert.isAtMost(reads, 21)
  })
})
