/** The calibration: differences relative or in points, and the warning past a quarter on p99. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { calibrate } from "../../../../src/domain/sim/replay/Calibration.ts"
import type { StrategyReport } from "../../../../src/domain/sim/Report.ts"

const report = (p50: number, p99: number, errorPercent: number, retries: number, share: number): StrategyReport => ({
  strategy: "x",
  requests: 100,
  latencyMs: { p50, p90: p99, p99, max: p99 },
  errors: errorPercent,
  errorPercent,
  statuses: {},
  retries,
  replays: 0,
  backends: [{ name: "a", attempts: share, sharePercent: share, peakInFlight: 0 }, {
    name: "b",
    attempts: 100 - share,
    sharePercent: 100 - share,
    peakInFlight: 0
  }],
  transitions: [],
  perSecond: []
})

describe("calibration", () => {
  it("compares latency and retries relatively, errors and shares in points", () => {
    const c = calibrate(report(10, 100, 1, 4, 50), report(11, 90, 1.5, 5, 52.5))
    assert.deepStrictEqual(
      [c.p50Ms.difference, c.p99Ms.difference, c.errorPercent.difference, c.retries.difference],
      [10, -10, 0.5, 25]
    )
    assert.deepStrictEqual(c.sharePercent.map((share) => [share.backend, share.difference]), [["a", 2.5], ["b", -2.5]])
    assert.isFalse(c.p99Off)
    assert.deepStrictEqual(c.reasons, [])
  })

  it("property: off exactly when the p99s are more than 25% apart, with reasons that point the right way", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 20_000 }), (observed, replayed) => {
        const c = calibrate(report(1, observed, 0, 0, 50), report(1, replayed, 0, 0, 50))
        const apart = Math.abs(Math.round((1000 * (replayed - observed)) / observed) / 10) > 25
        assert.strictEqual(c.p99Off, apart)
        assert.strictEqual(c.reasons.length > 0, apart)
        if (apart) assert.include(c.reasons.join(" "), replayed > observed ? "last attempt" : "capacity")
      })
    ))
})
