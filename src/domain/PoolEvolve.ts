/**
 * `evolve` for a backend in its pool: gathers what the one rule that needs more than the
 * backend's own events reads — outlier ejection's cap (`breaker/Ejection.ts`), from how many of
 * the pool's members are ejected now — and hands it to `evolve` as an input. The registry folds
 * every event through this, and so does replay, so both decline the same openings; the decline
 * shows in the state (`declined`), from which `Transitions.ts` names the `EjectionDeclined`.
 */
import type { BackendEvent } from "./BackendEvent.ts"
import { evolve } from "./BackendState.ts"
import type { BackendState, PoolFacts } from "./BackendState.ts"
import { ejectedCount } from "./breaker/Ejection.ts"

/** `evolve`, with `before`'s pool (`poolOf(before)`: the members as they stand, `before` among them). */
export const evolveInPool = (
  before: BackendState | undefined,
  event: BackendEvent,
  poolOf: (state: BackendState) => ReadonlyArray<BackendState>
): BackendState | undefined => {
  if (before === undefined || event._tag !== "RequestFinished" || before.policy.ejection === undefined) {
    return evolve(before, event)
  }
  const members = poolOf(before)
  const pool: PoolFacts = { ejected: ejectedCount(members), size: members.length }
  return evolve(before, event, pool)
}
