/**
 * The circuit breaker's states and its pure transitions (after linkerd2-proxy's breaker and
 * Sony's gobreaker):
 *
 *   Closed ──failureThreshold consecutive failures──► Open
 *   Open ──resetTimeout elapsed (a timer, see CircuitBreakerLive)──► HalfOpen
 *   HalfOpen ──halfOpenRequests successes──► Closed
 *   HalfOpen ──any trial failure──► Open (open time doubled per re-trip, at most 8x)
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

/** The open period for the `trips`-th consecutive trip (1-based). */
export const openPeriodMs = (trips: number, policy: BackendPolicy): number =>
  policy.resetTimeoutMs * 2 ** Math.min(Math.max(trips - 1, 0), 3)

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

/** A request of the current epoch ended; `reason` names its outcome if it failed. */
export const onOutcome = (
  circuit: Circuit,
  failure: string | undefined,
  at: number,
  policy: BackendPolicy
): Circuit => {
  switch (circuit._tag) {
    case "Closed": {
      if (failure === undefined) return circuit.failures === 0 ? circuit : closed
      const failures = circuit.failures + 1
      return failures < policy.failureThreshold
        ? { _tag: "Closed", failures }
        : open(1, at, `${failures} consecutive failures, the last: ${failure}`, policy)
    }
    case "HalfOpen": {
      if (failure !== undefined) {
        return open(circuit.trips + 1, at, `a trial request failed: ${failure}`, policy)
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

const open = (trips: number, at: number, reason: string, policy: BackendPolicy): Circuit => ({
  _tag: "Open",
  until: at + openPeriodMs(trips, policy),
  trips,
  reason
})

/** The reset timeout elapsed: an open circuit starts admitting trials. */
export const halfOpen = (circuit: Circuit): Circuit =>
  circuit._tag === "Open" ? { _tag: "HalfOpen", trips: circuit.trips, trialsInFlight: 0, successes: 0 } : circuit
