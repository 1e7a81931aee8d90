/**
 * The circuit breaker's states and its pure transitions (after linkerd2-proxy's breaker and
 * Sony's gobreaker):
 *
 *   Closed ──failureThreshold consecutive failures──► Open
 *   Open ──resetTimeout elapsed (a timer, see CircuitBreakerLive)──► HalfOpen
 *   HalfOpen ──halfOpenRequests successes──► Closed
 *   HalfOpen ──any trial failure──► Open (open time doubled per re-trip, at most 8x)
 *
 * With outlier ejection configured (`policy.ejection`, Envoy's model) the open period is instead
 * `baseMs × ejections`, at most `maxMs`, where `ejections` counts this backend's ejections so far,
 * forgiven one per `baseMs` spent back in service (`Ejection.ts`): a backend that keeps failing
 * stays out longer each time, one that recovered for good starts again from `baseMs`.
 *
 * Half-open admits exactly `halfOpenRequests` trials at once. A request's outcome only counts
 * for the circuit state it started in (the `epoch`, which moves on every transition): a slow
 * request from before the circuit opened must not close it, nor open it again.
 */
import type { BackendPolicy } from "../BackendPolicy.ts"

export type Circuit =
  | { readonly _tag: "Closed"; readonly failures: number }
  | { readonly _tag: "Open"; readonly until: number; readonly trips: number; readonly reason: string }
  | { readonly _tag: "HalfOpen"; readonly trips: number; readonly trialsInFlight: number; readonly successes: number }

export const closed: Circuit = { _tag: "Closed", failures: 0 }

/** The open period for the `trips`-th consecutive trip (1-based), the `ejections`-th ejection. */
export const openPeriodMs = (trips: number, ejections: number, policy: BackendPolicy): number => {
  const ejection = policy.ejection
  if (ejection === undefined) return policy.resetTimeoutMs * 2 ** Math.min(Math.max(trips - 1, 0), 3)
  return Math.min(ejection.baseMs * Math.max(1, ejections), Math.max(ejection.maxMs, ejection.baseMs))
}

export const admits = (circuit: Circuit, policy: BackendPolicy): boolean => {
  switch (circuit._tag) {
    case "Closed":
      return true
    case "Open":
      return false
    case "HalfOpen":
      return circuit.trialsInFlight < policy.halfOpenRequests
  }
}

/** A request of the current epoch was sent: while half-open it is one of the trials. */
export const onStart = (circuit: Circuit): Circuit =>
  circuit._tag === "HalfOpen" ? { ...circuit, trialsInFlight: circuit.trialsInFlight + 1 } : circuit

/**
 * A request of the current epoch ended; `failure` names its outcome if it failed. `ejections` is
 * the count an opening now would make (only read with `policy.ejection`).
 */
export const onOutcome = (
  circuit: Circuit,
  failure: string | undefined,
  at: number,
  policy: BackendPolicy,
  ejections: number
): Circuit => {
  switch (circuit._tag) {
    case "Closed": {
      if (failure === undefined) return circuit.failures === 0 ? circuit : closed
      const failures = circuit.failures + 1
      return failures < policy.failureThreshold
        ? { _tag: "Closed", failures }
        : open(1, ejections, at, `${failures} consecutive failures, the last: ${failure}`, policy)
    }
    case "HalfOpen": {
      if (failure !== undefined) {
        return open(circuit.trips + 1, ejections, at, `a trial request failed: ${failure}`, policy)
      }
      const successes = circuit.successes + 1
      return successes >= policy.halfOpenRequests
        ? closed
        : { ...circuit, trialsInFlight: Math.max(0, circuit.trialsInFlight - 1), successes }
    }
    case "Open":
      return circuit
  }
}

const open = (trips: number, ejections: number, at: number, reason: string, policy: BackendPolicy): Circuit => ({
  _tag: "Open",
  until: at + openPeriodMs(trips, ejections, policy),
  trips,
  reason
})

/**
 * The backend asked for a pause (`Retry-After`, `retryAfterMs` from `at`): nothing is sent to it
 * before then, and then trial requests decide as after any opening. An open circuit that ends
 * later is left as it is.
 */
export const holdOff = (circuit: Circuit, at: number, retryAfterMs: number): Circuit => {
  const until = at + retryAfterMs
  const reason = `the backend asked to retry after ${retryAfterMs} ms`
  if (circuit._tag === "Open") {
    return circuit.until >= until ? circuit : { ...circuit, until, reason: `${circuit.reason}; ${reason}` }
  }
  return { _tag: "Open", until, trips: circuit._tag === "HalfOpen" ? circuit.trips + 1 : 1, reason }
}

/** The open period elapsed: an open circuit starts admitting trials. */
export const halfOpen = (circuit: Circuit): Circuit =>
  circuit._tag === "Open" ? { _tag: "HalfOpen", trips: circuit.trips, trialsInFlight: 0, successes: 0 } : circuit
