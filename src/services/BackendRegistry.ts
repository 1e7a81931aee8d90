/**
 * The backends as actors: each one's state is the fold of its events, and `emit` is the only way
 * to change it. The data path reads states synchronously and in O(1); observers (metrics, the
 * journal, `/events`) read the event stream and can never slow the data path down.
 */
import { Context } from "effect"
import type { Effect, PubSub, Scope } from "effect"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import type { BackendState } from "../domain/BackendState.ts"

export interface BackendRegistryShape {
  /**
   * Applies an event (`BackendState.evolve`) and hands it, with any transition it caused
   * (`Transitions.ts`), to the subscribers. Synchronous on purpose: the data path calls it twice
   * per request, where an Effect run would cost microseconds.
   */
  readonly emit: (event: BackendEvent) => void
  /**
   * A pool's live members in config order (removed backends left out): the array its strategy
   * selects from. `name` defaults to the default pool. It is the registry's own array, not a
   * copy: entries are replaced as states change, and a new array is made when membership changes.
   */
  readonly pool: (name?: string) => ReadonlyArray<BackendState>
  /** Every known backend, including removed ones still finishing their requests. */
  readonly all: () => ReadonlyArray<BackendState>
  readonly get: (name: string) => BackendState | undefined
  /**
   * Moves whenever something a selector precomputes from may have changed (membership, weights,
   * health, circuit); selectors are rebuilt when it moves, never per request.
   */
  readonly version: () => number
  /**
   * Subscribes to events from now on: membership, probes and transitions, and with
   * `requests: true` also `RequestStarted`/`RequestFinished` (two per request, so only observers
   * that need them should ask). Each subscriber has its own bounded buffer that drops its oldest
   * events when it falls behind, so a slow observer loses history, never requests. Read it with
   * `PubSub.take*`, or as a stream with `Stream.fromSubscription`; it ends with the scope.
   */
  readonly subscribe: (
    options?: { readonly requests?: boolean }
  ) => Effect.Effect<PubSub.Subscription<BackendEvent>, never, Scope.Scope>
}

export class BackendRegistry
  extends Context.Service<BackendRegistry, BackendRegistryShape>()("switchyard/services/BackendRegistry")
{}
