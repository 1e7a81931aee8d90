import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { Estimate } from "../../../src/domain/load/Ewma.ts"
import { cost, defaultRttMs } from "../../../src/domain/load/Ewma.ts"
import { LeastDynamicScore } from "../../../src/domain/selection/LeastDynamicScore.ts"
import { assertPicksLowest, facts, latencyAt, movableClock, pool, poolStep, settings } from "./fixtures.ts"

interface Shape {
  readonly latency: Estimate | undefined
  readonly inFlight: number
}

const states = (shapes: ReadonlyArray<Shape>) =>
  pool(shapes.map(() => 1), (state, i): BackendState => ({
    ...state,
    latency: shapes[i]?.latency,
    inFlight: shapes[i]?.inFlight ?? 0
  }))

const pickAt = (backends: ReadonlyArray<BackendState>, now: number) =>
  LeastDynamicScore.build(backends, movableClock(now).env, settings).pick(backends, facts, undefined)?.spec.name

describe("least-dynamic-score", () => {
  it("takes the lowest latency × (in flight + 1)", () => {
    // Scores: 10·5 = 50, 30·1 = 30, 30 (unmeasured)·2 = 60.
    const backends = states([
      { latency: { value: 10, at: 0, samples: 1 }, inFlight: 4 },
      { latency: { value: 30, at: 0, samples: 1 }, inFlight: 0 },
      { latency: undefined, inFlight: 1 }
    ])
    assert.strictEqual(pickAt(backends, 0), "b1")
    // b1 with two in flight scores 90: b0's 50 is now lowest.
    const busier = backends.map((state, i) => i === 1 ? { ...state, inFlight: 2 } : state)
    assert.strictEqual(pickAt(busier, 0), "b0")
  })

  it(`an unmeasured backend counts defaultRttMs (${defaultRttMs} ms)`, () => {
    const unmeasured = { latency: undefined, inFlight: 0 }
    const slower = states([{ latency: { value: defaultRttMs + 1, at: 0, samples: 1 }, inFlight: 0 }, unmeasured])
    const faster = states([{ latency: { value: defaultRttMs - 1, at: 0, samples: 1 }, inFlight: 0 }, unmeasured])
    assert.strictEqual(pickAt(slower, 0), "b1")
    assert.strictEqual(pickAt(faster, 0), "b0")
  })

  it("an unmeasured backend counts defaultRttMs as of its last request, or its joining, decaying like an estimate", () => {
    // At 9 s (decay 10 s): b0 measured 25 ms just now; b1 joined at 0 reads 30·e^−0.9 ≈ 12.2 ms,
    // but tried at 9 s without an answer (say, refused) it reads 30 ms.
    const [joined, tried] = [undefined, 9_000].map((lastRequestAt) =>
      states([{ latency: { value: 25, at: 9_000, samples: 1 }, inFlight: 0 }, { latency: undefined, inFlight: 0 }])
        .map((state, i) => i === 1 ? { ...state, lastRequestAt } : state)
    )
    assert.strictEqual(pickAt(joined ?? [], 9_000), "b1")
    assert.strictEqual(pickAt(tried ?? [], 9_000), "b0")
  })

  it("reads each estimate decayed to env.now(): a backend once slow comes back as it idles", () => {
    // b0 measured 60 ms at 0 (decay 10 s), b1 30 ms just now: 60 against 30 at 0; 60·e⁻⁰·⁵ ≈ 36.4
    // against 30 at 5 s; 60·e⁻¹ ≈ 22.1 against 30 at 10 s.
    const at = (now: number) =>
      pickAt(
        states([{ latency: { value: 60, at: 0, samples: 1 }, inFlight: 0 }, {
          latency: { value: 30, at: now, samples: 1 },
          inFlight: 0
        }]),
        now
      )
    assert.deepStrictEqual([at(0), at(5_000), at(10_000)], ["b1", "b1", "b0"])
  })

  it("the same decayed latency counts more the more requests wait on it", () => {
    // Both 60 ms at 0, read at 10 s (22.07 each); b0 has 1 in flight, b1 none.
    const backends = states([
      { latency: { value: 60, at: 0, samples: 1 }, inFlight: 1 },
      { latency: { value: 60, at: 0, samples: 1 }, inFlight: 0 }
    ])
    assert.strictEqual(pickAt(backends, 10_000), "b1")
  })

  it("ties take turns", () => {
    const backends = states([{ latency: undefined, inFlight: 1 }, { latency: undefined, inFlight: 1 }])
    const selector = LeastDynamicScore.build(backends, movableClock(0).env, settings)
    const picks = Array.from({ length: 4 }, () => selector.pick(backends, facts, undefined)?.spec.name)
    assert.deepStrictEqual(picks, ["b0", "b1", "b0", "b1"])
  })

  it("property: as states change and the clock moves, always picks the lowest score by the formula", () => {
    const score = (state: BackendState, now: number) => cost(latencyAt(state, state.latency, now), state.inFlight)
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(poolStep, { maxLength: 40 }), (size, steps) => {
      const backends = states(Array.from({ length: size }, () => ({ latency: undefined, inFlight: 0 })))
      assertPicksLowest(LeastDynamicScore, backends, steps, score)
    }))
  })
})
