/**
 * The one selection interface (after Pingora's `BackendSelection`): a strategy *builds* a selector
 * from the current backend set, and the selector *picks* per request. Building happens when the
 * set changes, never per request, so a pick is a lookup over precomputed tables.
 *
 * A selector picks among `pool`, the registry's live array (same order and length as at build
 * time; its entries are replaced as their states change), skipping every backend that is not
 * selectable (`Availability.isSelectable`). It returns `undefined` when none is.
 */
import type { Excluded } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"

/** What a strategy may know about the request it places. */
export interface RequestFacts {
  /** The client address: the socket peer, or the first `X-Forwarded-For` hop when `trustProxy`. */
  readonly clientAddress: string
  /** The request target as received: path and query. */
  readonly path: string
  /** A request header's value (repeated headers comma-joined), `undefined` when absent. */
  readonly header: (name: string) => string | undefined
}

/** Randomness and time, passed in so that a seeded `Random` and `TestClock` make picks exact. */
export interface SelectionEnv {
  /** A uniform double in [0, 1). */
  readonly random: () => number
  /** Epoch milliseconds. */
  readonly now: () => number
}

/** Strategy options from the config. */
export interface StrategySettings {
  /** What `consistent-hash` hashes: `client-ip`, `path`, `header:<Name>` or `cookie:<name>`. */
  readonly hashKey: string
  /** `consistent-hash` with bounded loads: no backend above this percentage of the mean load. */
  readonly balanceFactor?: number | undefined
}

export interface Selector {
  readonly pick: (
    pool: ReadonlyArray<BackendState>,
    facts: RequestFacts,
    excluded: Excluded
  ) => BackendState | undefined
}

export interface Strategy {
  readonly name: string
  /** One line for `--help`, docs and the dashboard. */
  readonly summary: string
  readonly build: (pool: ReadonlyArray<BackendState>, env: SelectionEnv, settings: StrategySettings) => Selector
}
