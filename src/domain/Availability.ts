/**
 * The one answer to "may this backend take a request now?" Every strategy asks it, so no
 * strategy re-codes health, circuit or connection-cap rules (Caddy: `Available() = Healthy() && !Full()`).
 */
import type { BackendState } from "./BackendState.ts"

export const isFull = (state: BackendState): boolean =>
  state.spec.maxConnections !== undefined && state.inFlight >= state.spec.maxConnections

export const isAvailable = (state: BackendState): boolean => !state.removed && !isFull(state)

/** Backends a retry must not go back to, by name; `undefined` on a first attempt (no allocation). */
export type Excluded = ReadonlySet<string> | undefined

export const isSelectable = (state: BackendState, excluded: Excluded): boolean =>
  isAvailable(state) && (excluded === undefined || !excluded.has(state.spec.name))
