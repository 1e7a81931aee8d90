/**
 * Every fact about a backend, as one tagged union. Backend state is nothing but the fold of these
 * events (`BackendState.evolve`), which is what makes a journal of them replayable.
 *
 * Each event names its backend and carries `at`, the Clock time in epoch milliseconds at which it
 * happened, so a fold never needs a clock of its own.
 */
import { Schema } from "effect"
import { BackendSpec } from "./Backend.ts"

/**
 * How a proxied request ended, from the backend's point of view. `success` is any response the
 * backend produced that is not a 5xx (a 404 is the backend working); `bad-response` is one that
 * could not be parsed; `aborted` is the client going away, which says nothing about the backend.
 */
export const RequestOutcome = Schema.Literals([
  "success",
  "server-error",
  "connect-failed",
  "reset",
  "timeout",
  "bad-response",
  "aborted"
])
export type RequestOutcome = typeof RequestOutcome.Type

export const BackendEvent = Schema.TaggedUnion({
  /** Joins the pool (start-up or reload); for a known name, replaces its spec. */
  BackendAdded: { at: Schema.Number, spec: BackendSpec },
  /** Leaves the pool: no new requests; it is forgotten once its in-flight requests are done. */
  BackendRemoved: { at: Schema.Number, backend: Schema.String },
  /** A request was sent to the backend (it now counts as in flight). */
  RequestStarted: { at: Schema.Number, backend: Schema.String },
  /** A request sent to the backend ended; `latencyMs` runs from start to response headers. */
  RequestFinished: {
    at: Schema.Number,
    backend: Schema.String,
    outcome: RequestOutcome,
    latencyMs: Schema.Number
  }
})
export type BackendEvent = typeof BackendEvent.Type
