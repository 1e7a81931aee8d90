import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { cost, observeAverage, observePeak, read } from "../../../src/domain/load/Ewma.ts"

const decay = 10_000

describe("latency estimates", () => {
  it("the first observation is the estimate", () => {
    assert.deepStrictEqual(observeAverage(undefined, 42, 5, decay), { value: 42, at: 5 })
    assert.deepStrictEqual(observePeak(undefined, 42, 5, decay), { value: 42, at: 5 })
  })

  it("averages in by elapsed time: after one decay period, 1/e of the old estimate remains", () => {
    const next = observeAverage({ value: 100, at: 0 }, 10, decay, decay)
    assert.closeTo(next.value, 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 1e-9)
    assert.strictEqual(next.at, decay)
  })

  it("peak: a slower response replaces the estimate at once; a faster one decays toward it", () => {
    assert.deepStrictEqual(observePeak({ value: 10, at: 0 }, 250, 1, decay), { value: 250, at: 1 })
    const faster = observePeak({ value: 250, at: 0 }, 10, 5_000, decay)
    assert.closeTo(faster.value, 250 * Math.exp(-0.5) + 10 * (1 - Math.exp(-0.5)), 1e-9)
  })

  it("reading decays toward zero for the time nothing was observed", () => {
    assert.strictEqual(read({ value: 80, at: 1_000 }, 1_000, decay), 80)
    assert.closeTo(read({ value: 80, at: 1_000 }, 1_000 + 2 * decay, decay), 80 * Math.exp(-2), 1e-9)
  })

  it("cost is latency times the requests it would queue behind, plus itself", () => {
    assert.strictEqual(cost(20, 0), 20)
    assert.strictEqual(cost(20, 4), 100)
  })

  it("property: an average stays between the estimate and the sample", () => {
    fc.assert(fc.property(
      fc.double({ min: 0, max: 1e4, noNaN: true }),
      fc.double({ min: 0, max: 1e4, noNaN: true }),
      fc.nat(1e6),
      (estimate, sample, elapsed) => {
        const next = observeAverage({ value: estimate, at: 0 }, sample, elapsed, decay).value
        assert.isAtLeast(next, Math.min(estimate, sample) - 1e-9)
        assert.isAtMost(next, Math.max(estimate, sample) + 1e-9)
      }
    ))
  })

  it("property: a peak estimate never falls below a sample just observed", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ sample: fc.double({ min: 0, max: 1e4, noNaN: true }), gap: fc.nat(20_000) }), { minLength: 1 }),
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
