import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { Estimate } from "../../../src/domain/load/Ewma.ts"
import { read } from "../../../src/domain/load/Ewma.ts"
import { LeastEwma } from "../../../src/domain/selection/LeastEwma.ts"
import { assertPicksLowest, facts, movableClock, pool, poolStep, settings } from "./fixtures.ts"

// One decay for the whole pool, as `ewma.decay` configures it.
const measured = (latencies: ReadonlyArray<Estimate | undefined>, decayMs?: number) =>
  pool(latencies.map(() => 1), (state, i): BackendState => ({
    ...state,
    latency: latencies[i],
    policy: { ...state.policy, ewmaDecayMs: decayMs ?? state.policy.ewmaDecayMs }
  }))

describe("least-ewma", () => {
  it("takes the lowest average latency", () => {
    const backends = measured([{ value: 50, at: 0, samples: 1 }, { value: 20, at: 0, samples: 1 }, {
      value: 35,
      at: 0,
      samples: 1
    }])
    const { env } = movableClock(0)
    assert.strictEqual(LeastEwma.build(backends, env, settings).pick(backends, facts, undefined)?.spec.name, "b1")
  })

  it("an unmeasured backend counts 0, so it is tried first", () => {
    const backends = measured([{ value: 2, at: 0, samples: 1 }, undefined, { value: 1, at: 0, samples: 1 }])
    const { env } = movableClock(0)
    assert.strictEqual(LeastEwma.build(backends, env, settings).pick(backends, facts, undefined)?.spec.name, "b1")
  })

  it("compares estimates decayed to the same instant: an older one has decayed further", () => {
    // With a 1 s decay, b1's 50 ms measured at 0 reads 50·e⁻¹ ≈ 18.4 at 1 s, below b0's fresh 40.
    const backends = measured([{ value: 40, at: 1_000, samples: 1 }, { value: 50, at: 0, samples: 1 }], 1_000)
    const { env, set } = movableClock(1_000)
    const selector = LeastEwma.build(backends, env, settings)
    assert.strictEqual(selector.pick(backends, facts, undefined)?.spec.name, "b1")
    set(60_000)
    assert.strictEqual(selector.pick(backends, facts, undefined)?.spec.name, "b1")
  })

  it("a new estimate of a backend is read at once, within the same millisecond", () => {
    const backends = measured([{ value: 10, at: 0, samples: 1 }, { value: 20, at: 0, samples: 1 }])
    const { env } = movableClock(0)
    const selector = LeastEwma.build(backends, env, settings)
    assert.strictEqual(selector.pick(backends, facts, undefined)?.spec.name, "b0")
    const slower = backends.map((state, i) => i === 0 ? { ...state, latency: { value: 90, at: 0, samples: 1 } } : state)
    assert.strictEqual(selector.pick(slower, facts, undefined)?.spec.name, "b1")
  })

  it("ties take turns: every backend is unmeasured at first", () => {
    const backends = measured([undefined, undefined, undefined])
    const { env } = movableClock(0)
    const selector = LeastEwma.build(backends, env, settings)
    const picks = Array.from({ length: 4 }, () => selector.pick(backends, facts, undefined)?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b1", "b2", "b0"])
  })

  it("skips the fastest when it may not be used", () => {
    const backends = measured([{ value: 1, at: 0, samples: 1 }, { value: 5, at: 0, samples: 1 }, {
      value: 9,
      at: 0,
      samples: 1
    }])
    const { env } = movableClock(0)
    const selector = LeastEwma.build(backends, env, settings)
    assert.strictEqual(selector.pick(backends, facts, new Set(["b0"]))?.spec.name, "b1")
    assert.isUndefined(selector.pick(backends, facts, new Set(["b0", "b1", "b2"])))
  })

  it("property: as estimates change and the clock moves, always picks the lowest decayed latency", () => {
    const score = (state: BackendState, now: number) =>
      state.latency === undefined ? 0 : read(state.latency, now, state.policy.ewmaDecayMs)
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(poolStep, { maxLength: 40 }), (size, steps) => {
      const backends = measured(Array.from({ length: size }, () => ({ value: 10, at: 0, samples: 1 })))
      assertPicksLowest(LeastEwma, backends, steps, score)
    }))
  })
})
