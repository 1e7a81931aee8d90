/**
 * A worker's copy of the registry. The supervisor's registry is the one truth for what the pool
 * agrees on (membership, health, circuits, ejections, warm-up); a worker keeps only what it sees
 * itself on top of it: its own requests in flight and the latencies it measured.
 *
 * So a replica folds its own request events, minus their verdict on the circuit (the supervisor
 * judges every worker's outcomes together, `countFinished`), and takes every decision from the
 * supervisor's transitions. Because a circuit moves (and its epoch with it) only on those
 * transitions, replica and supervisor count the same epochs: an outcome a worker reports under an
 * epoch the supervisor has left is ignored there, as it is in one process.
 */
import type { BackendSpec } from "../Backend.ts"
import type { BackendEvent } from "../BackendEvent.ts"
import { countFinished, evolve } from "../BackendState.ts"
import type { BackendState } from "../BackendState.ts"

/** The supervisor's events a replica applies: decisions, never the observations behind them. */
export const isReplicated = (event: BackendEvent): boolean =>
  event._tag === "HealthChanged" || event._tag === "CircuitOpened" || event._tag === "CircuitHalfOpened" ||
  event._tag === "CircuitClosed" || event._tag === "WarmupProgressed"

/** The replica's fold: `evolve` for decisions and membership, counts only for its own requests. */
export const evolveReplica = (state: BackendState | undefined, event: BackendEvent): BackendState | undefined => {
  switch (event._tag) {
    case "RequestFinished":
      return state === undefined ? undefined : countFinished(state, event)
    case "ProbeSucceeded":
    case "ProbeFailed":
      // Probes run once, in the supervisor; only the health they decide reaches a worker.
      return state
    default:
      return evolve(state, event)
  }
}

/**
 * A backend's spec as one of `workers` sees it: `maxConnections` is the pool-wide cap, so each
 * worker holds its share (rounded up, so the cap is never below one per worker).
 */
export const workerSpec = (spec: BackendSpec, workers: number): BackendSpec =>
  spec.maxConnections === undefined || workers <= 1
    ? spec
    : { ...spec, maxConnections: Math.max(1, Math.ceil(spec.maxConnections / workers)) }

/**
 * A replica's starting state from the supervisor's: its decisions and estimates as they stand,
 * none of its load (the supervisor's in-flight count is every worker's).
 */
export const seedState = (state: BackendState, workers: number): BackendState => ({
  ...state,
  spec: workerSpec(state.spec, workers),
  inFlight: 0
})

/** The replica's copy of a membership event from the supervisor's reload. */
export const workerEvent = (event: BackendEvent, workers: number): BackendEvent =>
  event._tag === "BackendAdded" ? { ...event, spec: workerSpec(event.spec, workers) } : event
