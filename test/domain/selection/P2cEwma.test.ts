import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { isSelectable } from "../../../src/domain/Availability.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { Estimate } from "../../../src/domain/load/Ewma.ts"
import { cost } from "../../../src/domain/load/Ewma.ts"
import { P2cEwma } from "../../../src/domain/selection/P2cEwma.ts"
import {
  chiSquare,
  chiSquareCritical001,
  countPicks,
  facts,
  latencyAt,
  mulberry32,
  pool,
  settings
} from "./fixtures.ts"

/** The documented cost: peak latency read at `now` × (in flight + 1), `defaultRttMs` as of the last request or joining unmeasured. */
const peakCost = (state: BackendState, now: number): number =>
  cost(latencyAt(state, state.peakLatency, now), state.inFlight)

/**
 * `pick` is the cheaper of `a` and `b` at `now`, the first on a tie. The selector compares
 * logarithms, so costs within rounding (1e-9 of the cost) may go either way.
 */
const assertCheaper = (pick: BackendState | undefined, a: BackendState, b: BackendState, now: number) => {
  const [cheap, dear] = peakCost(b, now) < peakCost(a, now) ? [b, a] : [a, b]
  if (pick === cheap) return
  assert.strictEqual(pick, dear)
  assert.isAtMost(peakCost(dear, now), peakCost(cheap, now) * (1 + 1e-9))
}

interface Shape {
  readonly peak: Estimate | undefined
  readonly inFlight: number
  readonly selectable?: boolean
  /** When its last request started, if it had one. */
  readonly triedAt?: number | undefined
}

const states = (shapes: ReadonlyArray<Shape>) =>
  pool(shapes.map(() => 1), (state, i): BackendState => ({
    ...state,
    peakLatency: shapes[i]?.peak,
    inFlight: shapes[i]?.inFlight ?? 0,
    healthy: shapes[i]?.selectable ?? true,
    lastRequestAt: shapes[i]?.triedAt
  }))

/** An env that hands out `draws` in turn (and records them), with a clock the test sets. */
const scripted = (draws: ReadonlyArray<number> | (() => number), start = 0) => {
  let now = start
  let next = 0
  const drawn: Array<number> = []
  const random = () => {
    const u = typeof draws === "function" ? draws() : draws[next++ % draws.length] ?? 0
    drawn.push(u)
    return u
  }
  return { env: { random, now: () => now }, drawn, set: (to: number) => void (now = to) }
}

/** The documented draw: the pair numbered ⌊u·m·(m−1)⌋ among m candidates. */
const pairOf = (u: number, m: number): [number, number] => {
  const p = Math.min(m * (m - 1) - 1, Math.floor(u * m * (m - 1)))
  const first = Math.floor(p / (m - 1))
  const second = p - first * (m - 1)
  return [first, second >= first ? second + 1 : second]
}

/** Generated estimates are at most 20 s old at the pick, at `pickedAt` (never newer: see LogCost.ts). */
const pickedAt = 30_000

const shape: fc.Arbitrary<Shape> = fc.record({
  peak: fc.option(
    fc.record({
      // Sub-millisecond estimates as 0: denormal costs would round to ties in the reference formula.
      value: fc.double({ min: 0, max: 300, noNaN: true }).map((ms) => ms < 1e-3 ? 0 : ms),
      at: fc.integer({ min: 10_000, max: pickedAt }),
      samples: fc.nat(20)
    }),
    { nil: undefined }
  ),
  inFlight: fc.nat(6),
  selectable: fc.boolean(),
  triedAt: fc.option(fc.integer({ min: 10_000, max: pickedAt }), { nil: undefined })
})

describe("p2c-ewma", () => {
  it("compares the pair the draw names and takes the cheaper", () => {
    // Four backends, u = 0.5: pair 6 of 12, i.e. b2 first and b0 second.
    const cheapFirst = states([
      { peak: { value: 40, at: 0, samples: 1 }, inFlight: 0 },
      { peak: { value: 1, at: 0, samples: 1 }, inFlight: 0 },
      { peak: { value: 10, at: 0, samples: 1 }, inFlight: 0 },
      { peak: { value: 1, at: 0, samples: 1 }, inFlight: 0 }
    ])
    const { env } = scripted([0.5])
    assert.strictEqual(P2cEwma.build(cheapFirst, env, settings).pick(cheapFirst, facts, undefined)?.spec.name, "b2")
    // b0 at 10 ms with none in flight (10) against b2 at 10 ms with two (30).
    const cheapSecond = cheapFirst.map((state, i) =>
      i === 0
        ? { ...state, peakLatency: { value: 10, at: 0, samples: 1 } }
        : i === 2
        ? { ...state, inFlight: 2 }
        : state
    )
    assert.strictEqual(P2cEwma.build(cheapSecond, env, settings).pick(cheapSecond, facts, undefined)?.spec.name, "b0")
  })

  it("cost is peak latency read at env.now() × (in flight + 1); unmeasured counts defaultRttMs as of its last request", () => {
    // b0: peak 60 ms at 0, decay 10 s; b1 unmeasured, its last request started at the pick (30).
    // Two backends: both are always drawn.
    const { env, set } = scripted(mulberry32(3))
    const selector = P2cEwma.build(
      states([{ peak: undefined, inFlight: 0 }, { peak: undefined, inFlight: 0 }]),
      env,
      settings
    )
    const at = (now: number) => {
      set(now)
      const backends = states([{ peak: { value: 60, at: 0, samples: 1 }, inFlight: 0 }, {
        peak: undefined,
        inFlight: 0
      }])
        .map((state, i) => i === 1 ? { ...state, lastRequestAt: now } : state)
      return selector.pick(backends, facts, undefined)?.spec.name
    }
    // 60 against 30; 60·e⁻⁰·⁵ ≈ 36.4 against 30; 60·e⁻¹ ≈ 22.1 against 30.
    assert.deepStrictEqual([at(0), at(5_000), at(10_000)], ["b1", "b1", "b0"])
  })

  it("an unmeasured backend never tried counts defaultRttMs as of its joining, aged like any estimate", () => {
    // At 20 s: b0's 50 ms from 10 s reads 18.4 ms; b1, joined at 0 and never tried, 30·e⁻² ≈ 4.1 ms.
    const backends = states([{ peak: { value: 50, at: 10_000, samples: 1 }, inFlight: 0 }, {
      peak: undefined,
      inFlight: 0
    }])
    const { env } = scripted([0], 20_000)
    assert.strictEqual(P2cEwma.build(backends, env, settings).pick(backends, facts, undefined)?.spec.name, "b1")
  })

  it("property: with every backend selectable, picks the cheaper of the pair the draw names", () => {
    fc.assert(fc.property(
      fc.array(shape, { minLength: 2, maxLength: 12 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: pickedAt, max: 60_000 }),
      (shapes, u, now) => {
        const backends = states(shapes.map((s) => ({ ...s, selectable: true })))
        const { env } = scripted([u], now)
        const pick = P2cEwma.build(backends, env, settings).pick(backends, facts, undefined)
        const [i, j] = pairOf(u, backends.length)
        const a = backends[i]
        const b = backends[j]
        if (a === undefined || b === undefined) return assert.fail("the pair is outside the pool")
        assertCheaper(pick, a, b, now)
      }
    ))
  })

  it("property: never picks the costlier of the two it sampled, whatever may not be used", () => {
    const pools = fc.array(shape, { minLength: 1, maxLength: 12 })
    fc.assert(fc.property(pools, fc.integer(), fc.integer({ min: pickedAt, max: 60_000 }), (shapes, seed, now) => {
      const backends = states(shapes)
      const { drawn, env } = scripted(mulberry32(seed), now)
      const pick = P2cEwma.build(backends, env, settings).pick(backends, facts, undefined)
      const selectable = backends.filter((b) => isSelectable(b, undefined))
      if (selectable.length === 0) return assert.isUndefined(pick)
      if (selectable.length === 1) {
        assert.strictEqual(pick, selectable[0])
        return
      }
      // Replay the documented draw: over the whole pool first, then among the selectable.
      const [i, j] = pairOf(drawn[0] ?? 0, backends.length)
      const usable = (state: BackendState | undefined) => state !== undefined && isSelectable(state, undefined)
      const firstTry = usable(backends[i]) && usable(backends[j])
      const candidates = firstTry ? backends : selectable
      const [k, l] = firstTry ? [i, j] : pairOf(drawn[1] ?? 0, selectable.length)
      const a = candidates[k]
      const b = candidates[l]
      if (a === undefined || b === undefined) return assert.fail("the pair is outside the candidates")
      assertCheaper(pick, a, b, now)
    }))
  })

  it("property: with two or more selectable, never picks the one strictly costliest of all", () => {
    fc.assert(fc.property(fc.array(shape, { minLength: 2, maxLength: 12 }), fc.integer(), (shapes, seed) => {
      const backends = states(shapes)
      const selectable = backends.filter((b) => isSelectable(b, undefined))
      const costs = selectable.map((b) => peakCost(b, pickedAt)).sort((x, y) => y - x)
      fc.pre(selectable.length >= 2 && (costs[0] ?? 0) > (costs[1] ?? 0) * (1 + 1e-9))
      const selector = P2cEwma.build(backends, scripted(mulberry32(seed), pickedAt).env, settings)
      for (let n = 0; n < 20; n++) {
        const pick = selector.pick(backends, facts, undefined)
        if (pick === undefined) return assert.fail("a backend is selectable")
        assert.isBelow(peakCost(pick, pickedAt), costs[0] ?? 0)
      }
    }))
  })

  it("draws pairs uniformly: with equal costs the first of the pair wins, 1/n each (χ², p = 0.001)", () => {
    for (const seed of [1, 7, 42]) {
      const backends = states(
        Array.from({ length: 6 }, () => ({ peak: { value: 10, at: 0, samples: 1 }, inFlight: 1 }))
      )
      const selector = P2cEwma.build(backends, scripted(mulberry32(seed)).env, settings)
      const picks = Array.from({ length: 12_000 }, () => selector.pick(backends, facts, undefined))
      const statistic = chiSquare(countPicks(backends, picks), backends.map(() => 2_000))
      assert.isBelow(statistic, chiSquareCritical001(5), `seed ${seed}`)
    }
  })

  it("takes the one selectable backend, and finds none when none is", () => {
    const backends = states([
      { peak: undefined, inFlight: 0, selectable: false },
      { peak: undefined, inFlight: 9 },
      { peak: undefined, inFlight: 0, selectable: false }
    ])
    const env = { random: () => 0.5, now: () => 0 }
    assert.strictEqual(P2cEwma.build(backends, env, settings).pick(backends, facts, undefined)?.spec.name, "b1")
    assert.isUndefined(P2cEwma.build(backends, env, settings).pick(backends, facts, new Set(["b1"])))
  })
})
