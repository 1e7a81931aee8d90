/**
 * Every fact about a backend, as one tagged union. Backend state is nothing but the fold of these
 * events (`BackendState.evolve`), which is what makes a journal of them replayable.
 *
 * Each event names its backend and carries `at`, the Clock time in epoch milliseconds at which it
 * happened, so a fold never needs a clock of its own.
 *
 * Two kinds:
 * - observations: membership, requests, probes, and the breaker's timer (`CircuitHalfOpened`);
 * - transitions: `HealthChanged`, `CircuitOpened`, `CircuitClosed`. The registry derives and
 *   publishes them when an observation moves health or circuit (`Transitions.ts`); folding one
 *   onto a state that already made the move changes nothing, so a journal may hold both kinds, or
 *   only the transitions, and replay to the same health and circuit.
 */
import { Schema } from "effect"
import { BackendSpec } from "./Backend.ts"
import { BackendPolicy } from "./BackendPolicy.ts"

/**
 * How a proxied request ended, from the backend's point of view. `success` is any response the
 * backend produced that is not a 5xx (a 404 is the backend working); `bad-response` is one that
 * could not be parsed; `overloaded` is a 503, or a 429 with `Retry-After`: the backend saying it
 * cannot take more now; `throttled` is a 429 without `Retry-After`: a limit on this client or
 * key, not a sick backend, but an answer that came back fast without doing the work; `aborted` is
 * the client going away, which says nothing about the backend.
 */
export const RequestOutcome = Schema.Literals([
  "success",
  "server-error",
  "overloaded",
  "throttled",
  "connect-failed",
  "reset",
  "timeout",
  "bad-response",
  "aborted"
])
export type RequestOutcome = typeof RequestOutcome.Type

const at = Schema.Number
const backend = Schema.String

export const BackendEvent = Schema.TaggedUnion({
  /** Joins the pool (start-up or reload); for a known name, replaces its spec and policy. */
  BackendAdded: { at, spec: BackendSpec, policy: BackendPolicy },
  /** Leaves the pool: no new requests; it is forgotten once its in-flight requests are done. */
  BackendRemoved: { at, backend },
  /**
   * Drained (the admin API): no new requests, in-flight ones finish, and it stays a member, listed
   * and probed, until `BackendUndrained`, `BackendRemoved`, or a reload of the file.
   */
  BackendDrained: { at, backend },
  /** Back in rotation after `BackendDrained` (warming up again under slow start). */
  BackendUndrained: { at, backend },
  /**
   * A request was sent to the backend; `epoch` is the circuit epoch it was admitted under and
   * `attempt` counts the backends tried for this client request (1 for the first, 2+ for retries).
   */
  RequestStarted: { at, backend, epoch: Schema.Int, attempt: Schema.Int },
  /**
   * A request ended; `latencyMs` runs from start to response head (or to the failure).
   * `retryAfterMs`: an `overloaded` answer's `Retry-After`, when the policy honours it (capped).
   */
  RequestFinished: {
    at,
    backend,
    epoch: Schema.Int,
    outcome: RequestOutcome,
    latencyMs: Schema.Number,
    retryAfterMs: Schema.optionalKey(Schema.Number)
  },
  /** An active health probe got a healthy answer. */
  ProbeSucceeded: { at, backend, latencyMs: Schema.Number },
  /** An active health probe failed: no answer in time, refused, or an unhealthy status. */
  ProbeFailed: { at, backend, reason: Schema.String },
  /** The open period is over: trial requests may go through. Emitted by the breaker's timer. */
  CircuitHalfOpened: { at, backend },
  /** Transition: the backend was taken out of (`false`) or brought back into (`true`) rotation. */
  HealthChanged: { at, backend, healthy: Schema.Boolean, reason: Schema.String },
  /** Transition: the circuit opened until `until` (epoch ms), for the `trips`-th time in a row. */
  CircuitOpened: { at, backend, until: Schema.Number, trips: Schema.Int, reason: Schema.String },
  /** Transition: enough trial requests succeeded; the circuit is closed. */
  CircuitClosed: { at, backend },
  /**
   * Transition: the circuit would have opened, but the pool already has as many backends ejected
   * as `maxEjectionPercent` allows; the backend keeps serving with its failure count reset.
   */
  EjectionDeclined: { at, backend, reason: Schema.String },
  /** Slow start: the backend's weight is now `percent` of its configured weight. Emitted by a timer. */
  WarmupProgressed: { at, backend, percent: Schema.Number }
})
export type BackendEvent = typeof BackendEvent.Type

/** The backend an event is about. */
export const backendOf = (event: BackendEvent): string =>
  event._tag === "BackendAdded" ? event.spec.name : event.backend

/** Per-request events: many per second, so observers must ask for them (see `BackendRegistry`). */
export const isRequestEvent = (event: BackendEvent): boolean =>
  event._tag === "RequestStarted" || event._tag === "RequestFinished"
