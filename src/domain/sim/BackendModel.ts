/**
 * A simulated backend: how long it takes to answer and how it fails, at a simulated time and
 * under a load. Pure: the lab passes the time, the in-flight count (the registry's own) and the
 * uniform draws, so one draw gives the same answer whichever strategy sent the request there.
 */
import type { RequestOutcome } from "../BackendEvent.ts"
import type { Latency } from "./Distributions.ts"
import { quantile } from "./Distributions.ts"

/** From `atMs` on, the backend behaves as this says; what it leaves out stays as it was. */
export interface BackendChange {
  readonly atMs: number
  readonly slowdown?: number
  readonly errorFraction?: number
  readonly resetFraction?: number
  readonly overloadFraction?: number
  readonly down?: boolean
  /** Its latency from now on (a replay's next window), instead of the one before. */
  readonly latency?: Latency
}

export interface SimulatedBackend {
  readonly name: string
  readonly latency: Latency
  readonly errorFraction: number
  readonly resetFraction: number
  /** Requests shed at once with `503` and `Retry-After` (an overloaded backend protecting itself). */
  readonly overloadFraction: number
  /** The `Retry-After` of those answers, in ms. */
  readonly retryAfterMs: number
  /** Concurrent requests it serves at full speed; `undefined` for no limit. */
  readonly capacity: number | undefined
  /** In time order. */
  readonly changes: ReadonlyArray<BackendChange>
}

export interface Condition {
  readonly slowdown: number
  readonly errorFraction: number
  readonly resetFraction: number
  readonly overloadFraction: number
  /** Refusing connections. */
  readonly down: boolean
  readonly latency: Latency
}

/** A backend's conditions, each holding from its start time until the next one's. */
export interface Timeline {
  readonly starts: ReadonlyArray<number>
  readonly conditions: ReadonlyArray<Condition>
}

export const timelineOf = (backend: SimulatedBackend): Timeline => {
  let condition: Condition = {
    slowdown: 1,
    errorFraction: backend.errorFraction,
    resetFraction: backend.resetFraction,
    overloadFraction: backend.overloadFraction,
    down: false,
    latency: backend.latency
  }
  const starts = [Number.NEGATIVE_INFINITY]
  const conditions = [condition]
  for (const change of backend.changes) {
    condition = {
      slowdown: change.slowdown ?? condition.slowdown,
      errorFraction: change.errorFraction ?? condition.errorFraction,
      resetFraction: change.resetFraction ?? condition.resetFraction,
      overloadFraction: change.overloadFraction ?? condition.overloadFraction,
      down: change.down ?? condition.down,
      latency: change.latency ?? condition.latency
    }
    starts.push(change.atMs)
    conditions.push(condition)
  }
  return { starts, conditions }
}

/**
 * The condition at `atMs`: a change at exactly `atMs` already holds. A binary search: a replayed
 * day has a change per window.
 */
export const conditionAt = (timeline: Timeline, atMs: number): Condition => {
  let low = 0
  let high = timeline.starts.length - 1
  while (low < high) {
    const middle = (low + high + 1) >>> 1
    if ((timeline.starts[middle] ?? 0) <= atMs) low = middle
    else high = middle - 1
  }
  return timeline.conditions[low] ?? timeline.conditions[0] ?? healthy
}

const healthy: Condition = {
  slowdown: 1,
  errorFraction: 0,
  resetFraction: 0,
  overloadFraction: 0,
  down: false,
  latency: { _tag: "Fixed", ms: 0 }
}

/**
 * How much slower a backend answers with `inFlight` requests (this one included) than at rest:
 * up to `capacity` not at all, beyond it by the excess share, as when the requests over the
 * capacity have to share the workers (a rough processor-sharing queue).
 */
export const loadFactor = (capacity: number | undefined, inFlight: number): number =>
  capacity === undefined || inFlight <= capacity ? 1 : 1 + (inFlight - capacity) / capacity

export interface Answer {
  readonly outcome: RequestOutcome
  /** From the start of the request to its response head, or to the failure. */
  readonly afterMs: number
  /** Whether bytes of the request may have reached the backend: only a refused connection says no. */
  readonly sent: boolean
  /** Whether a response head came back (a 200, a 500, or an overloaded 503). */
  readonly responded: boolean
  /** An overloaded answer's `Retry-After`, in ms. */
  readonly retryAfterMs?: number
}

const refused: Answer = { outcome: "connect-failed", afterMs: 0, sent: false, responded: false }

/** Shedding load costs a backend next to nothing: its `503` comes back at once. */
const sheddingMs = 1

/**
 * The backend's answer to a request started under `condition` with `inFlight` requests (this one
 * included): refused when it is down; shed at once with a `503` and `Retry-After` when `uError`
 * falls in its overload share; otherwise after its latency at quantile `uLatency`, slowed by the
 * condition and the load, unless that is over `timeoutMs` (the proxy gives up then). A reset or
 * a 500 is decided by `uError` against their shares, after the overload share.
 */
export const answer = (
  backend: SimulatedBackend,
  condition: Condition,
  inFlight: number,
  uLatency: number,
  uError: number,
  timeoutMs: number
): Answer => {
  if (condition.down) return refused
  if (uError < condition.overloadFraction) {
    return {
      outcome: "overloaded",
      afterMs: sheddingMs,
      sent: true,
      responded: true,
      retryAfterMs: backend.retryAfterMs
    }
  }
  const u = uError - condition.overloadFraction
  const latency = quantile(condition.latency, uLatency) * condition.slowdown * loadFactor(backend.capacity, inFlight)
  if (latency > timeoutMs) return { outcome: "timeout", afterMs: timeoutMs, sent: true, responded: false }
  if (u < condition.resetFraction) return { outcome: "reset", afterMs: latency, sent: true, responded: false }
  const outcome = u < condition.resetFraction + condition.errorFraction ? "server-error" : "success"
  return { outcome, afterMs: latency, sent: true, responded: true }
}
