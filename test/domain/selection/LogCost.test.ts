import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { cost, defaultRttMs } from "../../../src/domain/load/Ewma.ts"
import { queueCost, queueLog, unmeasuredLog } from "../../../src/domain/selection/LogCost.ts"
import { latencyAt, pool } from "./fixtures.ts"

const decayMs = 10_000

/** The documented cost at `now`: average latency read at `now` × (in flight + 1). */
const costAt = (state: BackendState, now: number): number => cost(latencyAt(state, state.latency, now), state.inFlight)

const backend = fc.record({
  latency: fc.option(fc.record({ value: fc.double({ min: 0.01, max: 5_000, noNaN: true }), age: fc.nat(600_000) }), {
    nil: undefined
  }),
  /** How long ago it joined and, if it had one, its last request started. */
  joinedAgo: fc.nat(600_000),
  triedAgo: fc.option(fc.nat(600_000), { nil: undefined }),
  inFlight: fc.nat(2_000)
})

describe("log-costs", () => {
  it("property: order backends exactly as their costs at the pick, whatever the time of the pick", () => {
    // Picks from the selector's build at `built` (epoch ms, as the proxy's clock reads) to a year on.
    const built = 1_800_000_000_000
    fc.assert(fc.property(backend, backend, fc.integer({ min: built, max: built + 31_536_000_000 }), (x, y, now) => {
      const states = pool([1, 1], (state, i) => {
        const shape = i === 0 ? x : y
        const latency = shape.latency &&
          { value: shape.latency.value, at: Math.max(0, now - shape.latency.age), samples: 1 }
        const lastRequestAt = shape.triedAgo === undefined ? undefined : now - shape.triedAgo
        return { ...state, latency, inFlight: shape.inFlight, joinedAt: now - shape.joinedAgo, lastRequestAt }
      })
      const [a, b] = states
      if (a === undefined || b === undefined) return assert.fail("two backends")
      let clock = built
      const logCost = queueCost(2, { random: () => 0, now: () => clock }, (state) => state.latency)
      clock = now
      const [costA, costB] = [costAt(a, now), costAt(b, now)]
      // Costs within rounding of each other may be ordered either way.
      fc.pre(Math.abs(costA - costB) > 1e-9 * Math.max(costA, costB))
      assert.strictEqual(logCost(a, 0) < logCost(b, 1), costA < costB)
    }))
  })

  it("reads the clock once, when built, and keeps a state's cost", () => {
    let reads = 0
    const env = { random: () => 0, now: () => (reads++, 0) }
    const [measured, unmeasured] = pool(
      [1, 1],
      (state, i) => i === 0 ? { ...state, latency: { value: 5, at: 0, samples: 1 } } : state
    )
    if (measured === undefined || unmeasured === undefined) return assert.fail("two backends")
    const logCost = queueCost(2, env, (state) => state.latency)
    assert.strictEqual(reads, 1)
    const first = logCost(measured, 0)
    assert.strictEqual(logCost(measured, 0), first)
    logCost(unmeasured, 1)
    assert.strictEqual(reads, 1)
  })

  it("an unmeasured backend costs defaultRttMs from its last request, or else its joining", () => {
    const [joined] = pool([1], (state) => ({ ...state, joinedAt: -decayMs }))
    if (joined === undefined) return assert.fail("one backend")
    const tried = { ...joined, lastRequestAt: 0 }
    assert.closeTo(unmeasuredLog(joined, 0), Math.log(defaultRttMs) - 1, 1e-12)
    assert.closeTo(unmeasuredLog(tried, 0), Math.log(defaultRttMs), 1e-12)
  })

  it("ln(in flight + 1) beyond the precomputed table too", () => {
    for (const inFlight of [0, 1, 1_023, 1_024, 50_000]) {
      assert.closeTo(queueLog(inFlight), Math.log(inFlight + 1), 1e-12)
    }
  })
})
