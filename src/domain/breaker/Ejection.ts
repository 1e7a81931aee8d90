/**
 * Outlier ejection's two pool-aware rules (Envoy's `outlier_detection`), as pure functions:
 *
 * - the ejection count learns: each ejection counts one more, and one is forgiven for every
 *   `baseMs` the backend has been back in service since its last ejection ended (Envoy forgives
 *   one per detection interval while the host is healthy; `baseMs` is our interval), so the open
 *   period `baseMs × ejections` grows for a backend that keeps failing and shrinks once it is well;
 * - a cap: an opening that would leave more than `maxPercent` of the pool's backends ejected at
 *   once is declined, and the backend keeps serving with its failure count reset. The cap counts
 *   open circuits only: backends out for failed health checks are a different judgement.
 *
 * The cap is the one decision that needs more than the backend's own events, so the registry and
 * replay both apply it the same way, through `PoolEvolve.ts`.
 */
import type { EjectionSettings } from "../BackendPolicy.ts"
import type { BackendState } from "../BackendState.ts"

/** The ejections `state` is still charged with at `at`. */
export const standingEjections = (state: BackendState, at: number, ejection: EjectionSettings): number => {
  const forgiven = Math.floor(Math.max(0, at - state.ejectedUntil) / ejection.baseMs)
  return Math.max(0, state.ejections - forgiven)
}

/** How many of a pool of `size` backends may be ejected at once. */
export const maxEjected = (size: number, ejection: EjectionSettings): number =>
  Math.floor((size * ejection.maxPercent) / 100)

/** The members of `pool` ejected now. */
export const ejectedCount = (pool: ReadonlyArray<BackendState>): number => {
  let open = 0
  for (const member of pool) if (member.circuit._tag === "Open") open++
  return open
}
