/**
 * Weight tables: cumulative weights built once per backend set, so that a point in
 * `[0, total weight)` maps to the backend whose share of the line holds it. `weighted-random`
 * draws the point; `ip-hash` takes it from a hash of the client address (as nginx's `ip_hash`
 * walks its peers' weights).
 */
import type { BackendState } from "../BackendState.ts"

/** The configured weight: what the hashing strategies place clients by (a ramp would re-deal them). */
export const configuredWeight = (state: BackendState): number => state.spec.weight

/** The weight a backend has now: the configured one, scaled down while it warms up (slow start). */
export const currentWeight = (state: BackendState): number =>
  state.weightPercent >= 100 ? state.spec.weight : (state.spec.weight * state.weightPercent) / 100

/** `sums[i]` = the weights of backends `0..i`; the last entry is the total. */
export const cumulativeWeights = (
  pool: ReadonlyArray<BackendState>,
  weightOf: (state: BackendState) => number
): Float64Array => {
  const sums = new Float64Array(pool.length)
  let total = 0
  for (let i = 0; i < pool.length; i++) {
    const state = pool[i]
    total += state === undefined ? 0 : weightOf(state)
    sums[i] = total
  }
  return sums
}

/** Up to this many backends a linear scan beats a binary search (bench/strategies.ts). */
const linearUpTo = 16

/**
 * The index of the backend whose share holds `point`: the first `i` with `point < sums[i]`.
 * Measured on random points: at 10 backends a linear scan is about 5 ns (10 %) faster than a
 * binary search, whose every step is a branch the CPU cannot predict; at 100 they are even, and
 * beyond that the binary search's O(log n) wins.
 */
export const indexAt = (sums: Float64Array, point: number): number => {
  const last = sums.length - 1
  if (last < linearUpTo) {
    let i = 0
    while (i < last && point >= (sums[i] ?? 0)) i++
    return i
  }
  let low = 0
  let high = last
  while (low < high) {
    const middle = (low + high) >>> 1
    if (point < (sums[middle] ?? 0)) high = middle
    else low = middle + 1
  }
  return low
}
