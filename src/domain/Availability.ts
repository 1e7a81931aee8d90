/**
 * The one answer to "may this backend take a request now?" Every strategy asks it, so no
 * strategy re-codes health, circuit or connection-cap rules (Caddy: `Available() = Healthy() && !Full()`).
 */
import type { BackendState } from "./BackendState.ts"
import { admits } from "./breaker/Circuit.ts"

export const isFull = (state: BackendState): boolean =>
  state.spec.maxConnections !== undefined && state.inFlight >= state.spec.maxConnections

export const isAvailable = (state: BackendState): boolean =>
  !state.removed && !state.draining && state.healthy && admits(state.circuit, state.policy) && !isFull(state)

/** Backends a retry must not go back to, by name; `undefined` on a first attempt (no allocation). */
export type Excluded = ReadonlySet<string> | undefined

export const isSelectable = (state: BackendState, excluded: Excluded): boolean =>
  isAvailable(state) && (excluded === undefined || !excluded.has(state.spec.name))

/**
 * `Retry-After` for a 503, in whole seconds: when the first open circuit lets trials through, if
 * any is open; otherwise the next health probe of an unhealthy backend; otherwise (all at their
 * connection cap) 1.
 */
export const retryAfterSeconds = (pool: ReadonlyArray<BackendState>, now: number): number => {
  let soonest = Number.POSITIVE_INFINITY
  let probe = Number.POSITIVE_INFINITY
  for (const state of pool) {
    if (state.circuit._tag === "Open" && state.healthy) soonest = Math.min(soonest, state.circuit.until - now)
    if (!state.healthy && state.policy.probe !== undefined) probe = Math.min(probe, state.policy.probe.intervalMs)
  }
  const ms = Number.isFinite(soonest) ? soonest : Number.isFinite(probe) ? probe : 1_000
  return Math.max(1, Math.ceil(ms / 1000))
}
