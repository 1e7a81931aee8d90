/**
 * Comparing latency costs without reading the clock. The latency-aware strategies order backends
 * by an estimate decayed to the moment of the pick, `value · e^(−(now − at)/decay)`, possibly
 * times `(inFlight + 1)`. Its logarithm is `ln(value) + at/decay + ln(inFlight + 1) − now/decay`,
 * and the last term is the same for every backend at one pick: ordering by the rest orders by the
 * decayed cost, at any `now`. That rest, the *log-cost*, needs no clock (a clock read costs as much
 * as scanning ten backends) and no `exp`, and it belongs to the state alone, so it is computed
 * once per state.
 *
 * Two conditions make the order exact, and both hold in the proxy: every backend of a pool shares
 * one decay (`ewma.decay` is global), and no estimate is newer than the pick (estimates are taken
 * when requests finish or start, or backends join, on the clock the pick reads). Near-ties may be
 * ordered either way within floating-point rounding (see `estimateLog`), which no balancing
 * decision can notice.
 *
 * A backend without an estimate costs `defaultRttMs` as of its last request, or of when it joined
 * if it has had none: like tower's default, it stands for an estimate taken then, and decays like
 * one. A fixed default would never win against a measured backend read after a pause: requests
 * every 15 s read a 100 ms backend at `100 · e^(−1.5) ≈ 22 ms` (decay 10 s), under 30 at every
 * pick, so an idle faster backend would never be tried. Decaying both, the comparison is between
 * what each was last known to cost, each aged alike. So no log-cost involves `now`, and none reads
 * the clock.
 */
import type { BackendState } from "../BackendState.ts"
import type { Estimate } from "../load/Ewma.ts"
import { defaultRttMs } from "../load/Ewma.ts"
import type { SelectionEnv } from "./Strategy.ts"

/** `ln(inFlight + 1)` for the in-flight counts a backend commonly has, to spare a `log` per pick. */
const queueLogs = Float64Array.from({ length: 1_024 }, (_, inFlight) => Math.log(inFlight + 1))

/** `ln(inFlight + 1)`: the log-cost of the requests one more would queue behind. */
export const queueLog = (inFlight: number): number => queueLogs[inFlight] ?? Math.log(inFlight + 1)

/**
 * The log-cost of an estimate: `ln(value) + (at − since)/decay` (a 0 ms estimate is `-Infinity`).
 * Any `since` common to a pool gives the same order; the time the selector was built keeps the
 * quotient small, so rounding stays at about 1e−9 of the cost (epoch milliseconds would cost
 * three more digits).
 */
export const estimateLog = (estimate: Estimate, decayMs: number, since: number): number =>
  Math.log(estimate.value) + (estimate.at - since) / decayMs

/**
 * Slow start's share of the log-cost: a backend at `p` % of its weight costs `100/p` times more,
 * so it is chosen only where that much faster or less loaded.
 */
export const warmupLog = (state: BackendState): number =>
  state.weightPercent >= 100 ? 0 : Math.log(100 / state.weightPercent)

/** When a backend without an estimate counts `defaultRttMs` from: its last request, or its joining. */
export const unmeasuredSince = (state: BackendState): number => state.lastRequestAt ?? state.joinedAt

/** The log-cost of `defaultRttMs` as of `unmeasuredSince(state)`, for a backend not yet measured. */
export const unmeasuredLog = (state: BackendState, since: number): number =>
  Math.log(defaultRttMs) + (unmeasuredSince(state) - since) / state.policy.ewmaDecayMs

/** Which estimate of a state a strategy reads. */
export type EstimateOf = (state: BackendState) => Estimate | undefined

/**
 * A score kept per backend position while the position holds the same state object. States are
 * immutable values the registry replaces on every change, so a hit is exactly what the score would
 * return, and it reads no field of the state (the states of a busy pool come in several shapes,
 * which makes every field read slower than the identity check).
 */
export const keptPerState = (size: number, score: (state: BackendState) => number) => {
  const states: Array<BackendState | undefined> = Array.from({ length: size }, () => undefined)
  const scores = new Float64Array(size)
  return (state: BackendState, index: number): number => {
    if (states[index] === state) return scores[index] ?? 0
    const value = score(state)
    if (index < size) {
      states[index] = state
      scores[index] = value
    }
    return value
  }
}

/**
 * The log-cost of one more request on a backend, `ln(latency · (inFlight + 1))` less the pick's
 * common `now/decay`, for `least-dynamic-score` (average latency) and `p2c-ewma` (peak latency).
 */
export const queueCost = (size: number, env: SelectionEnv, estimateOf: EstimateOf) => {
  const since = env.now()
  return keptPerState(size, (state) => {
    const estimate = estimateOf(state)
    const latencyLog = estimate === undefined
      ? unmeasuredLog(state, since)
      : estimateLog(estimate, state.policy.ewmaDecayMs, since)
    return latencyLog + queueLog(state.inFlight) + warmupLog(state)
  })
}
