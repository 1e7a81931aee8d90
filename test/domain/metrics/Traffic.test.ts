import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { makeHistogram, observe, proxyLatencyBoundaries } from "../../../src/domain/metrics/Histogram.ts"
import {
  noResponses,
  recentWindow,
  recentWindowSeconds,
  statusClassOf,
  statusCountsByBackend,
  trafficBetween
} from "../../../src/domain/metrics/Traffic.ts"
import type { RequestSeries } from "../../../src/domain/metrics/Traffic.ts"

const series: fc.Arbitrary<RequestSeries> = fc.record({
  backend: fc.constantFrom("a", "b", "none"),
  status: fc.integer({ min: 100, max: 599 }),
  count: fc.nat({ max: 1000 })
})

describe("status classes", () => {
  it("names a status by its hundreds", () => {
    assert.deepStrictEqual(
      [101, 200, 204, 304, 404, 499, 500, 503].map(statusClassOf),
      ["1xx", "2xx", "2xx", "3xx", "4xx", "4xx", "5xx", "5xx"]
    )
  })

  it("counts every request of a backend once, in the class of its status", () =>
    fc.assert(fc.property(fc.array(series, { maxLength: 40 }), (all) => {
      const sums = statusCountsByBackend(all)
      for (const backend of ["a", "b", "none"]) {
        const mine = all.filter((s) => s.backend === backend)
        const counts = sums.get(backend)
        if (mine.length === 0) {
          assert.isUndefined(counts)
          continue
        }
        assert.deepStrictEqual(
          counts,
          {
            ...noResponses,
            ...Object.fromEntries(
              (["1xx", "2xx", "3xx", "4xx", "5xx"] as const).map((name) => [
                name,
                mine.filter((s) => statusClassOf(s.status) === name).reduce((sum, s) => sum + s.count, 0)
              ])
            )
          }
        )
      }
    })))
})

describe("the recent window", () => {
  const times = fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 2, maxLength: 200 }).map((steps) => {
    let at = 0
    return steps.map((step) => ({ at: at += step }))
  })

  it("runs from the newest sample back to the newest one at least a window older, or the oldest", () =>
    fc.assert(fc.property(times, (samples) => {
      const window = recentWindow(samples)
      const newest = samples[samples.length - 1]
      assert.isDefined(window)
      assert.strictEqual(window?.newer, newest)
      const older = window?.older
      const index = older === undefined ? -1 : samples.lastIndexOf(older)
      assert.isBelow(index, samples.length - 1)
      const reach = (newest?.at ?? 0) - recentWindowSeconds * 1000
      assert.isTrue(index === 0 || (older?.at ?? 0) <= reach, "long enough, unless the buffer is shorter")
      const closer = samples.slice(index + 1, -1)
      assert.isTrue(closer.every((sample) => sample.at > reach), "and no longer than it must be")
    })))

  it("needs two samples", () => {
    assert.isUndefined(recentWindow([]))
    assert.isUndefined(recentWindow([{ at: 0 }]))
  })

  it("counts and measures only what happened inside it", () => {
    const histogram = makeHistogram(proxyLatencyBoundaries)
    for (let i = 0; i < 100; i++) observe(histogram, 2)
    const older = {
      responses: { ...noResponses, "2xx": 90, "5xx": 10 },
      latencyBuckets: histogram.counts.slice()
    }
    for (let i = 0; i < 100; i++) observe(histogram, 0.004)
    const newer = {
      responses: { ...noResponses, "2xx": 150, "4xx": 5, "5xx": 55 },
      latencyBuckets: histogram.counts.slice()
    }
    assert.deepStrictEqual(trafficBetween(proxyLatencyBoundaries, 60, older, newer), {
      windowSeconds: 60,
      responses: { ...noResponses, "2xx": 60, "4xx": 5, "5xx": 45 },
      // Both in (2.5 ms, 5 ms]: ranks 50 and 99 of 100 there.
      p50Ms: 3.75,
      p99Ms: 4.975
    })
  })

  it("has no quantiles without a request in it", () => {
    const reading = { responses: noResponses, latencyBuckets: undefined }
    assert.deepStrictEqual(trafficBetween(proxyLatencyBoundaries, 60, reading, reading), {
      windowSeconds: 60,
      responses: noResponses,
      p50Ms: null,
      p99Ms: null
    })
  })
})
