/** Backends fitted from a log: quantile points, windows, pooling of sparse ones, out-of-order lines. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { interpolate } from "../../../../src/domain/sim/Distributions.ts"
import { makeBackendFitter, quantilePoints } from "../../../../src/domain/sim/replay/BackendFit.ts"

const settings = { windowMs: 1_000, minSamples: 3, points: 5 }

describe("backend fit", () => {
  it("property: quantile points ascend from the minimum to the maximum, and interpolate to the sample median", () =>
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 2, max: 101 }),
      (values, count) => {
        const sorted = [...values].sort((a, b) => a - b)
        const points = quantilePoints(sorted, count)
        assert.strictEqual(points.length, Math.min(count, values.length))
        assert.strictEqual(points[0], sorted[0])
        assert.strictEqual(points[points.length - 1], sorted[sorted.length - 1])
        for (let i = 1; i < points.length; i++) assert.isAtLeast(points[i] ?? 0, points[i - 1] ?? 0)
        if (count === 101 && values.length > 101) {
          const position = 0.5 * (sorted.length - 1)
          const low = sorted[Math.floor(position)] ?? 0
          const median = low + (position - Math.floor(position)) * ((sorted[Math.floor(position) + 1] ?? low) - low)
          assert.closeTo(interpolate(points, 0.5), median, 1e-9)
        }
      }
    )))

  it("a window per second, fitted with the one before; shares of 5xx and of failures; a sparse window pooled with the next", () => {
    const fitter = makeBackendFitter(settings)
    for (const ms of [10, 20, 30, 40]) fitter.add("a", 100 + ms, ms, ms === 40 ? 503 : 200)
    fitter.add("a", 900, undefined, 502)
    // Second 1 has one answer: pooled into second 2's window, which starts where it did.
    fitter.add("a", 1_500, 100, 200)
    for (const ms of [200, 300]) fitter.add("a", 2_100, ms, 200)
    // Second 3 is fitted over itself and second 2 (a sliding window of two).
    for (const ms of [1, 2, 3]) fitter.add("a", 3_100, ms, ms === 1 ? 500 : 200)
    const [a] = fitter.fitted()
    assert.deepStrictEqual(a?.windows.map((w) => ({ ...w, latency: Array.from(w.latency) })), [
      { startMs: 0, latency: [10, 20, 30, 40], errorFraction: 0.2, resetFraction: 0.2, answers: 5 },
      { startMs: 1_000, latency: [100, 200, 300], errorFraction: 0, resetFraction: 0, answers: 3 },
      { startMs: 3_000, latency: [1, 2, 3, 200, 300], errorFraction: 0.2, resetFraction: 0, answers: 3 }
    ])
  })

  it("a backend with too few answers for any window still gets them as its fit", () => {
    const fitter = makeBackendFitter(settings)
    fitter.add("rare", 0, 7, 200)
    fitter.add("rare", 5_000, 9, 200)
    assert.deepStrictEqual(fitter.fitted().map((b) => b.windows.map((w) => Array.from(w.latency))), [[[7, 9]]])
  })

  it("property: lines out of order by less than a window fit as if in order", () =>
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 500 })), { maxLength: 200 }),
      fc.integer(),
      (answers, seed) => {
        const inOrder = [...answers].sort((x, y) => x[0] - y[0])
        // Shuffled only among neighbours less than half a window apart.
        const jiggled = inOrder.map((answer, i) => ({ answer, key: answer[0] + ((seed ^ (i * 2654435761)) % 400) }))
          .sort((x, y) => x.key - y.key).map(({ answer }) => answer)
        const fit = (lines: ReadonlyArray<readonly [number, number]>) => {
          const fitter = makeBackendFitter(settings)
          for (const [at, ms] of lines) fitter.add("a", at, ms, 200)
          return fitter.fitted().map((b) => b.windows.map((w) => ({ ...w, latency: Array.from(w.latency) })))
        }
        assert.deepStrictEqual(fit(jiggled), fit(inOrder))
      }
    )))
})
