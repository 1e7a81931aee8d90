/**
 * The transition events an observation implies: after `evolve`, compare health and circuit
 * before and after, and name what moved. The registry publishes these beside the observation, so
 * observers (and the journal) see `HealthChanged` and `CircuitOpened` rather than having to
 * re-derive them from probe and request counts.
 */
import type { BackendEvent } from "./BackendEvent.ts"
import type { BackendState } from "./BackendState.ts"

const healthReason = (state: BackendState, cause: BackendEvent): string => {
  if (cause._tag === "ProbeFailed") {
    return `${state.probeFailures} consecutive failed probes, the last: ${cause.reason}`
  }
  if (cause._tag === "ProbeSucceeded") return `${state.probeSuccesses} consecutive successful probes`
  return cause._tag
}

export const transitions = (
  before: BackendState | undefined,
  after: BackendState | undefined,
  cause: BackendEvent
): ReadonlyArray<BackendEvent> => {
  if (before === undefined || after === undefined) return []
  const out: Array<BackendEvent> = []
  const backend = after.spec.name
  const declined = after.declined
  if (declined !== undefined && declined !== before.declined && cause._tag !== "EjectionDeclined") {
    out.push({ _tag: "EjectionDeclined", at: declined.at, backend, reason: declined.reason })
  }
  if (before.healthy !== after.healthy && cause._tag !== "HealthChanged") {
    out.push({
      _tag: "HealthChanged",
      at: cause.at,
      backend,
      healthy: after.healthy,
      reason: healthReason(after, cause)
    })
  }
  const circuit = after.circuit
  if (before.circuit._tag !== circuit._tag) {
    if (circuit._tag === "Open" && cause._tag !== "CircuitOpened") {
      out.push({
        _tag: "CircuitOpened",
        at: cause.at,
        backend,
        until: circuit.until,
        trips: circuit.trips,
        reason: circuit.reason
      })
    }
    if (circuit._tag === "Closed" && cause._tag !== "CircuitClosed") {
      out.push({ _tag: "CircuitClosed", at: cause.at, backend })
    }
    if (circuit._tag === "HalfOpen" && cause._tag !== "CircuitHalfOpened") {
      out.push({ _tag: "CircuitHalfOpened", at: cause.at, backend })
    }
  }
  return out
}
