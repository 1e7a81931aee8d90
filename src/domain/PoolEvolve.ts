/**
 * `evolve` for a backend in its pool: the one rule that needs more than the backend's own events,
 * outlier ejection's cap (`breaker/Ejection.ts`), applied around the backend's own fold. The
 * registry folds every event through this, and so does replay, so both decline the same openings.
 */
import type { BackendEvent } from "./BackendEvent.ts"
import { evolve } from "./BackendState.ts"
import type { BackendState } from "./BackendState.ts"
import { closed, holdOff } from "./breaker/Circuit.ts"
import { ejectedCount, maxEjected } from "./breaker/Ejection.ts"

/**
 * `evolve`, with the ejection cap: when `event` would eject `before` (open its circuit for its
 * failures) and its pool (`poolOf(before)`, the members as they stand, `before` among them) is
 * at its cap, the backend stays in service instead, and `declined` is told why. A backend's own
 * `Retry-After` pause is honoured either way: the cap is about our judgement, not its request.
 */
export const evolveInPool = (
  before: BackendState | undefined,
  event: BackendEvent,
  poolOf: (state: BackendState) => ReadonlyArray<BackendState>,
  declined: (event: BackendEvent) => void
): BackendState | undefined => {
  const after = evolve(before, event)
  if (
    before === undefined || after === undefined || event._tag !== "RequestFinished" ||
    after.circuit._tag !== "Open" || before.circuit._tag === "Open" || after.ejectedUntil === before.ejectedUntil
  ) {
    return after
  }
  const ejection = after.policy.ejection
  if (ejection === undefined) return after
  const members = poolOf(before)
  const ejected = ejectedCount(members)
  const allowed = maxEjected(members.length, ejection)
  if (ejected + 1 <= allowed) return after
  declined({
    _tag: "EjectionDeclined",
    at: event.at,
    backend: after.spec.name,
    reason: `${after.circuit.reason}; but the pool has ${ejected} of its ${members.length} backends ejected ` +
      `and maxEjectionPercent ${ejection.maxPercent} allows ${allowed}`
  })
  const circuit = event.retryAfterMs === undefined ? closed : holdOff(closed, event.at, event.retryAfterMs)
  return {
    ...after,
    circuit,
    epoch: circuit._tag === before.circuit._tag ? before.epoch : after.epoch,
    ejections: before.ejections,
    ejectedUntil: before.ejectedUntil
  }
}
