/** Pools and request facts for strategy tests: plain data, as the registry would hold it. */
import { assert } from "@effect/vitest"
import fc from "fast-check"
import { isSelectable } from "../../../src/domain/Availability.ts"
import { defaultPolicy } from "../../../src/domain/BackendPolicy.ts"
import { initialState } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { Estimate } from "../../../src/domain/load/Ewma.ts"
import { defaultRttMs, read } from "../../../src/domain/load/Ewma.ts"
import type { RequestFacts, SelectionEnv, Strategy, StrategySettings } from "../../../src/domain/selection/Strategy.ts"
import { mulberry32 } from "../../../src/testing/StrategyLaws.ts"

export const pool = (
  weights: ReadonlyArray<number>,
  tweak: (state: BackendState, index: number) => BackendState = (state) => state
): Array<BackendState> =>
  weights.map((weight, index) =>
    tweak(initialState({ name: `b${index}`, url: `http://10.0.0.${index}:80`, weight }, defaultPolicy), index)
  )

/**
 * The documented latency of a backend at `now`: its estimate read at `now`, or, unmeasured,
 * `defaultRttMs` as of its last request (or its joining) read at `now`.
 */
export const latencyAt = (state: BackendState, estimate: Estimate | undefined, now: number): number =>
  read(
    estimate ?? { value: defaultRttMs, at: state.lastRequestAt ?? state.joinedAt, samples: 0 },
    now,
    state.policy.ewmaDecayMs
  )

export const facts: RequestFacts = { clientAddress: "127.0.0.1", path: "/", header: () => undefined }

export const env: SelectionEnv = { random: () => 0.5, now: () => 0 }

export const settings: StrategySettings = { hashKey: "client-ip" }

export { mulberry32 }

/** An env whose clock the test moves with `set` (as `TestClock.adjust` would); random is 0.5. */
export const movableClock = (start: number) => {
  let now = start
  const env: SelectionEnv = { random: () => 0.5, now: () => now }
  return {
    env,
    set: (to: number): void => {
      now = to
    }
  }
}

/** An env whose randomness is `mulberry32(seed)` and whose clock reads `now`. */
export const seededEnv = (seed: number, now = 0): SelectionEnv => ({ random: mulberry32(seed), now: () => now })

/** Facts for a request from `clientAddress`, with the given headers (names lower-case). */
export const factsFrom = (clientAddress: string, headers: Record<string, string> = {}, path = "/"): RequestFacts => ({
  clientAddress,
  path,
  header: (name) => headers[name]
})

/** Pearson's statistic: the sum over cells of (observed − expected)² / expected. */
export const chiSquare = (observed: ReadonlyArray<number>, expected: ReadonlyArray<number>): number =>
  observed.reduce((sum, count, i) => {
    const e = expected[i] ?? 0
    return sum + ((count - e) * (count - e)) / e
  }, 0)

/** Critical values of χ² at p = 0.001, by degrees of freedom (1–20), from the standard table. */
const criticalAt001 = [
  10.828,
  13.816,
  16.266,
  18.467,
  20.515,
  22.458,
  24.322,
  26.124,
  27.877,
  29.588,
  31.264,
  32.909,
  34.528,
  36.123,
  37.697,
  39.252,
  40.790,
  42.312,
  43.820,
  45.315
]

export const chiSquareCritical001 = (degreesOfFreedom: number): number => {
  const value = criticalAt001[degreesOfFreedom - 1]
  if (value === undefined) throw new Error(`no χ² critical value for ${degreesOfFreedom} degrees of freedom`)
  return value
}

/** How many picks went to each backend of `backends`, in pool order. */
export const countPicks = (
  backends: ReadonlyArray<BackendState>,
  picks: ReadonlyArray<BackendState | undefined>
): Array<number> => backends.map((backend) => picks.filter((pick) => pick === backend).length)

/**
 * One step of a pool's life: the clock moves `advance` ms, then backend `index` (modulo the pool's
 * size) gets a new average-latency estimate taken `age` ms ago (or none), `inFlight`, the start of
 * its last request and health.
 */
export const poolStep = fc.record({
  index: fc.nat(7),
  latency: fc.option(fc.record({ value: fc.integer({ min: 1, max: 200 }), age: fc.nat(5_000) }), { nil: undefined }),
  inFlight: fc.nat(4),
  /** How long ago its last request started, if it had one. */
  triedAgo: fc.option(fc.nat(5_000), { nil: undefined }),
  healthy: fc.boolean(),
  advance: fc.constantFrom(0, 0, 1, 250)
})
export type PoolStep = typeof poolStep extends fc.Arbitrary<infer T> ? T : never

/**
 * Plays `steps` on `backends` (replacing states as the registry does) under one selector built at
 * time 0, and checks each pick: none when nothing is selectable, else a backend whose `score` is
 * the lowest, within rounding (the latency strategies compare logarithms of their costs, so a
 * near-tie may go either way).
 */
export const assertPicksLowest = (
  strategy: Strategy,
  backends: Array<BackendState>,
  steps: ReadonlyArray<PoolStep>,
  score: (state: BackendState, now: number) => number
): void => {
  const { env, set } = movableClock(0)
  let now = 0
  const selector = strategy.build(backends, env, settings)
  for (const { advance, healthy, inFlight, index, latency, triedAgo } of steps) {
    const at = index % backends.length
    const state = backends[at]
    now += advance
    // An estimate is taken when a request finishes, never later than the pick that reads it.
    const estimate = latency && { value: latency.value, at: Math.max(0, now - latency.age), samples: 1 }
    const lastRequestAt = triedAgo === undefined ? undefined : Math.max(0, now - triedAgo)
    if (state !== undefined) backends[at] = { ...state, latency: estimate, inFlight, healthy, lastRequestAt }
    set(now)
    const pick = selector.pick(backends, facts, undefined)
    const selectable = backends.filter((b) => isSelectable(b, undefined))
    if (selectable.length === 0) {
      assert.isUndefined(pick)
      continue
    }
    if (pick === undefined) return assert.fail("nothing picked")
    const lowest = Math.min(...selectable.map((b) => score(b, now)))
    assert.isAtMost(score(pick, now), lowest * (1 + 1e-9))
  }
}
