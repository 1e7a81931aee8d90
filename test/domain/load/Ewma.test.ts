import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { Estimate } from "../../../src/domain/load/Ewma.ts"
import { cost, observeAverage, observePeak, read, warmupSamples } from "../../../src/domain/load/Ewma.ts"

const decay = 10_000

type Observe = typeof observeAverage

/** Observes `samples` in turn, each `gap` ms after the previous one, from `start`. */
const play = (observe: Observe, start: Estimate | undefined, samples: ReadonlyArray<{ sample: number; gap: number }>) =>
  samples.reduce<Estimate | undefined>(
    (estimate, { gap, sample }) => observe(estimate, sample, (estimate?.at ?? 0) + gap, decay),
    start
  )

/** `k` responses of `x`, `gap` ms apart. */
const repeated = (x: number, k: number, gap: number) => Array.from({ length: k }, () => ({ sample: x, gap }))

describe("latency estimates", () => {
  it("the first observation is the estimate", () => {
    assert.deepStrictEqual(observeAverage(undefined, 42, 5, decay), { value: 42, at: 5, samples: 1 })
    assert.deepStrictEqual(observePeak(undefined, 42, 5, decay), { value: 42, at: 5, samples: 1 })
  })

  it("warm-up: the first responses average in like a mean, however close together they come", () => {
    // 10, 40 and 70 ms, 50 ms apart: by time alone each would move the estimate by 0.5 %.
    const responses = [{ sample: 10, gap: 0 }, { sample: 40, gap: 50 }, { sample: 70, gap: 50 }]
    const estimate = play(observeAverage, undefined, responses)
    assert.closeTo(estimate?.value ?? 0, 40, 1e-9)
    assert.deepInclude(estimate, { at: 100, samples: 3 })
  })

  it("a fast first response is outweighed by the slow ones after it, not kept for seconds", () => {
    // 5 ms, then five of 100 ms 100 ms apart: the mean, 84.17 ms (by time alone: 9.6 ms).
    const estimate = play(observeAverage, undefined, [{ sample: 5, gap: 0 }, ...repeated(100, 5, 100)])
    assert.closeTo(estimate?.value ?? 0, (5 + 5 * 100) / 6, 1e-9)
  })

  it("a response long after the previous one weighs by time when that is more than 1/n", () => {
    // The second response, 20 s later: 1 − e⁻² ≈ 0.86 of the way, more than a mean's 1/2.
    const next = observeAverage({ value: 100, at: 0, samples: 1 }, 10, 2 * decay, decay)
    assert.closeTo(next.value, 100 * Math.exp(-2) + 10 * (1 - Math.exp(-2)), 1e-9)
  })

  it(`past ${warmupSamples} responses the estimate moves by elapsed time only`, () => {
    const mature = { value: 10, at: 0, samples: warmupSamples }
    const soon = observeAverage(mature, 110, 1, decay)
    assert.closeTo(soon.value, 10 + 100 * (1 - Math.exp(-1 / decay)), 1e-12)
    assert.strictEqual(soon.samples, warmupSamples + 1)
    // After one decay period, 1/e of the old estimate remains.
    const later = observeAverage({ value: 100, at: 0, samples: warmupSamples }, 10, decay, decay)
    assert.closeTo(later.value, 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 1e-9)
    assert.strictEqual(later.at, decay)
  })

  it("peak: a slower response replaces the estimate at once; a faster one averages in", () => {
    assert.deepStrictEqual(observePeak({ value: 10, at: 0, samples: 4 }, 250, 1, decay), {
      value: 250,
      at: 1,
      samples: 5
    })
    // Second response: half the way, as a mean (time alone would be 1 − e^−0.5 ≈ 0.39).
    const warming = observePeak({ value: 250, at: 0, samples: 1 }, 10, 5_000, decay)
    assert.closeTo(warming.value, 130, 1e-9)
    const mature = observePeak({ value: 250, at: 0, samples: warmupSamples }, 10, 5_000, decay)
    assert.closeTo(mature.value, 250 * Math.exp(-0.5) + 10 * (1 - Math.exp(-0.5)), 1e-9)
  })

  it("peak: a primed default has no samples, so the first response replaces it, faster or slower", () => {
    const primed = { value: 30, at: 0, samples: 0 }
    assert.deepStrictEqual(observePeak(primed, 2, 5, decay), { value: 2, at: 5, samples: 1 })
    assert.deepStrictEqual(observePeak(primed, 80, 5, decay), { value: 80, at: 5, samples: 1 })
  })

  it("reading decays toward zero for the time nothing was observed", () => {
    assert.strictEqual(read({ value: 80, at: 1_000, samples: 1 }, 1_000, decay), 80)
    assert.closeTo(read({ value: 80, at: 1_000, samples: 1 }, 1_000 + 2 * decay, decay), 80 * Math.exp(-2), 1e-9)
  })

  it("cost is latency times the requests it would queue behind, plus itself", () => {
    assert.strictEqual(cost(20, 0), 20)
    assert.strictEqual(cost(20, 4), 100)
  })

  // Response times in ms: 0, or from a microsecond up (denormals would only test rounding).
  const sample = fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 1e4, noNaN: true }))
  // Gaps between responses: back to back as often as idle for minutes, and mixed.
  const gap = fc.oneof(fc.nat(100), fc.nat(120_000))
  const gaps = (minLength: number, maxLength: number) =>
    fc.oneof(fc.array(fc.nat(100), { minLength, maxLength }), fc.array(gap, { minLength, maxLength }))

  for (const [name, observe] of [["average", observeAverage], ["peak", observePeak]] as const) {
    it(`property (${name}): from an unmeasured start, k responses of x make the estimate x, for any spacing`, () => {
      fc.assert(fc.property(sample, gaps(1, 40), (x, spacing) => {
        const estimate = play(observe, undefined, spacing.map((g) => ({ sample: x, gap: g })))
        assert.closeTo(estimate?.value ?? Number.NaN, x, 1e-9 * x)
      }))
    })

    it(`property (${name}): from n₀ < W = ${warmupSamples} samples, k responses of x leave at most n₀/min(n₀ + k, W) of the error`, () => {
      fc.assert(fc.property(
        sample,
        sample,
        fc.nat(warmupSamples - 1),
        gaps(1, 30),
        (start, x, n0, spacing) => {
          const estimate = play(
            observe,
            { value: start, at: 0, samples: n0 },
            spacing.map((g) => ({ sample: x, gap: g }))
          )
          const bound = Math.abs(start - x) * n0 / Math.min(n0 + spacing.length, warmupSamples)
          assert.isAtMost(Math.abs((estimate?.value ?? Number.NaN) - x), bound + 1e-9 * Math.max(start, x))
        }
      ))
    })

    it(`property (${name}): after one misleading response, 9 responses of x, however spaced, are within 10 % of x`, () => {
      // The misleading first response is anywhere from 0 to twice x: off by at most x, then by a tenth of that.
      fc.assert(fc.property(
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        gaps(9, 9),
        (x, ratio, spacing) => {
          const first = observe(undefined, x * ratio, 0, decay)
          const estimate = play(observe, first, spacing.map((g) => ({ sample: x, gap: g })))
          assert.isAtMost(Math.abs((estimate?.value ?? Number.NaN) - x), 0.1 * x * (1 + 1e-9))
        }
      ))
    })
  }

  it("property: past the warm-up, k responses of x spaced Δ apart leave e^(−kΔ/decay) of the error", () => {
    fc.assert(fc.property(sample, sample, fc.integer({ min: 1, max: 50 }), fc.nat(20_000), (start, x, k, spacing) => {
      const estimate = play(observeAverage, { value: start, at: 0, samples: warmupSamples }, repeated(x, k, spacing))
      const expected = x + (start - x) * Math.exp(-k * spacing / decay)
      assert.closeTo(estimate?.value ?? Number.NaN, expected, 1e-9 * Math.max(start, x, 1))
    }))
  })

  it("property: an average stays between the estimate and the sample", () => {
    fc.assert(fc.property(sample, sample, fc.nat(1e6), fc.nat(30), (estimate, next, elapsed, samples) => {
      const value = observeAverage({ value: estimate, at: 0, samples }, next, elapsed, decay).value
      assert.isAtLeast(value, Math.min(estimate, next) - 1e-9)
      assert.isAtMost(value, Math.max(estimate, next) + 1e-9)
    }))
  })

  it("property: a peak estimate never falls below a sample just observed", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ sample, gap: fc.nat(20_000) }), { minLength: 1 }),
      (samples) => {
        let estimate = observePeak(undefined, samples[0]?.sample ?? 0, 0, decay)
        for (const { gap, sample } of samples) {
          const before = estimate.value
          estimate = observePeak(estimate, sample, estimate.at + gap, decay)
          assert.isAtLeast(estimate.value, Math.min(sample, before) - 1e-9)
          if (sample > before) assert.strictEqual(estimate.value, sample)
        }
      }
    ))
  })
})
