/**
 * The lab's distributions as quantile functions: within their bounds, ordered, and hitting the
 * percentiles they were built from.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  exponentialGap,
  inverseNormal,
  lognormalFromPercentiles,
  quantile
} from "../../../src/domain/sim/Distributions.ts"
import type { Latency } from "../../../src/domain/sim/Distributions.ts"

const u = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const ms = fc.double({ min: 0, max: 10_000, noNaN: true })

describe("latency distributions", () => {
  it("the inverse normal gives the textbook quantiles", () => {
    assert.strictEqual(inverseNormal(0.5), 0)
    assert.closeTo(inverseNormal(0.975), 1.959963985, 1e-8)
    assert.closeTo(inverseNormal(0.99), 2.326347874, 1e-8)
    assert.closeTo(inverseNormal(0.001), -3.090232306, 1e-8)
    assert.strictEqual(inverseNormal(0), Number.NEGATIVE_INFINITY)
  })

  it("a lognormal built from a median and a p99 has them at u = 0.5 and u = 0.99", () => {
    const latency = lognormalFromPercentiles(20, 120)
    assert.closeTo(quantile(latency, 0.5), 20, 1e-9)
    assert.closeTo(quantile(latency, 0.99), 120, 1e-6)
  })

  it("property: a fixed latency is always itself", () => {
    fc.assert(fc.property(ms, u, (value, draw) => quantile({ _tag: "Fixed", ms: value }, draw) === value))
  })

  it("property: a uniform latency stays within [min, max]", () => {
    fc.assert(fc.property(ms, ms, u, (a, b, draw) => {
      const latency: Latency = { _tag: "Uniform", minMs: Math.min(a, b), maxMs: Math.max(a, b) }
      const value = quantile(latency, draw)
      return value >= latency.minMs && value <= latency.maxMs
    }))
  })

  it("property: a lognormal latency is never negative and rises with u", () => {
    fc.assert(fc.property(
      fc.double({ min: 0.1, max: 1_000, noNaN: true }),
      fc.double({ min: 1.01, max: 50, noNaN: true }),
      u,
      u,
      (median, spread, x, y) => {
        const latency = lognormalFromPercentiles(median, median * spread)
        const [low, high] = x <= y ? [x, y] : [y, x]
        return quantile(latency, low) >= 0 && quantile(latency, low) <= quantile(latency, high)
      }
    ))
  })

  it("property: a bimodal latency is always one of its modes' values, the slow one in the top slowPercent", () => {
    fc.assert(fc.property(fc.double({ min: 0.01, max: 0.99, noNaN: true }), u, (slowFraction, draw) => {
      const latency: Latency = {
        _tag: "Bimodal",
        fast: { _tag: "Uniform", minMs: 5, maxMs: 10 },
        slow: { _tag: "Uniform", minMs: 100, maxMs: 200 },
        slowFraction
      }
      const value = quantile(latency, draw)
      return draw < 1 - slowFraction ? value >= 5 && value <= 10 : value >= 100 && value <= 200
    }))
  })

  it("property: Poisson gaps are never negative, and average 1/rate", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 100, noNaN: true }), u, (rate, draw) => exponentialGap(rate, draw) >= 0)
    )
    const n = 100_000
    let sum = 0
    for (let i = 0; i < n; i++) sum += exponentialGap(0.2, (i + 0.5) / n)
    assert.closeTo(sum / n, 5, 0.01)
  })
})
