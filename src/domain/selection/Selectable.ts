/**
 * Choosing uniformly among the selectable backends without making a filtered copy of the pool:
 * count them, draw an index below the count, and walk to that one. The random strategies
 * (`random`, `weighted-random`, `p2c-ewma`) try a cheap draw over the whole pool first and fall
 * back to this only when that draw hits a backend that may not be used, so a steady pool never
 * pays for the scan.
 */
import type { Excluded } from "../Availability.ts"
import { isSelectable } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"

/**
 * An index in `[0, n)` from a uniform double `u` in `[0, 1)`. The clamp guards the one draw where
 * floating-point rounding could make `u * n` reach `n`.
 */
export const drawIndex = (u: number, n: number): number => Math.min(n - 1, Math.floor(u * n))

export const countSelectable = (pool: ReadonlyArray<BackendState>, excluded: Excluded): number => {
  let count = 0
  for (let i = 0; i < pool.length; i++) {
    const state = pool[i]
    if (state !== undefined && isSelectable(state, excluded)) count++
  }
  return count
}

/** The pool index of the `k`-th selectable backend (from 0), or -1 when there are not that many. */
export const nthSelectable = (pool: ReadonlyArray<BackendState>, excluded: Excluded, k: number): number => {
  let seen = 0
  for (let i = 0; i < pool.length; i++) {
    const state = pool[i]
    if (state === undefined || !isSelectable(state, excluded)) continue
    if (seen === k) return i
    seen++
  }
  return -1
}
