/**
 * The attempt lifecycle of one proxied request, as plain data and pure functions: the one set of
 * rules that every driver follows — the HTTP/1 exchange (`http/ProxyExchange.ts`), the upgrade
 * tunnel (`http/UpgradeTunnel.ts`) and the strategy lab (`domain/sim/Lab.ts`). A driver does the
 * I/O (sockets, or simulated backends on a virtual clock) and asks this module what happens next.
 *
 * One attempt is one backend tried. It is told to the registry as one `RequestStarted` when it
 * begins and exactly one `RequestFinished` when it ends, whatever ends it: the response's end, a
 * failure before or after the response head, or the client leaving (`finish` closes the attempt;
 * finishing a closed one yields nothing).
 *
 * What follows a failed attempt (`afterFailure`), in this order:
 * 1. `gone` — the client left: nobody to answer, nothing more to try.
 * 2. `replay` — the backend closed a pooled connection just as it was reused: a reset before any
 *    response byte, of an idempotent request without a body, not replayed yet. It goes once more to
 *    the same backend on a fresh connection, as the same attempt, without backoff: our reuse
 *    failed, not the backend. A request with a body, or a non-idempotent one (a bodiless POST),
 *    is never replayed: the backend may have processed it before closing; such requests go out
 *    only on a connection that has just proven alive or a fresh one (`UpstreamLive`), which is
 *    what keeps them from meeting a stale connection.
 * 3. `cut` — the response head was already relayed: the status line is gone, so the client's
 *    connection is cut, the only way left to say the body is incomplete.
 * 4. `backoff` — the retry policy allows another try (`RetryPolicy.mayRetry`: no response head,
 *    and no byte reached a backend, or an idempotent request without a body) and attempts are
 *    left: the driver waits the backoff's delay, then asks `afterBackoff`.
 * 5. `answer` — otherwise the client gets the failure's status (`Statuses.failureAnswer`).
 *
 * After the backoff (`afterBackoff`) the request goes to a backend not tried yet, if the pool has
 * one and its retry budget allows it; otherwise the client gets the last failure's status.
 */
import type { BackendEvent, RequestOutcome } from "../BackendEvent.ts"
import type { FailedAttempt } from "../retry/RetryPolicy.ts"
import { isIdempotent, mayRetry } from "../retry/RetryPolicy.ts"

type Started = Extract<BackendEvent, { _tag: "RequestStarted" }>
type Finished = Extract<BackendEvent, { _tag: "RequestFinished" }>

/** What a failure can be: an outcome for the backend, or a body the client made too large. */
export type FailureOutcome = RequestOutcome | "body-too-large"

/** What is fixed about a request for all its attempts. */
export interface RequestTraits {
  readonly method: string
  /** A declared non-zero length, or a chunked body. */
  readonly hasBody: boolean
  /** Total tries allowed, the first included (`retry.attempts`); 1 for an upgrade, opened once. */
  readonly maxAttempts: number
  /**
   * Sent over a pooled keep-alive connection, which the backend may have closed just as it was
   * reused (an upgrade opens a connection of its own, so its reset is the backend's doing).
   */
  readonly pooled: boolean
}

/** The backend's response head, as far as the attempt's rules care. */
export interface ResponseHead {
  readonly status: number
  readonly at: number
  /** A 503's or 429's valid `Retry-After`: the backend asked for a pause. */
  readonly askedToWait: boolean
  /** The pause the backend's policy honours (`RetryAfter.honouredPauseMs`). */
  readonly holdMs: number | undefined
}

export interface Attempt {
  /** 1 for the first backend tried, 2+ for retries. */
  readonly number: number
  readonly backend: string
  /** The backend's circuit epoch when it was chosen: the attempt counts for that circuit only. */
  readonly epoch: number
  readonly startedAt: number
  /** The driver began writing the request: from here on, bytes may have reached the backend. */
  readonly sent: boolean
  /** Replayed once on a fresh connection already. */
  readonly replayed: boolean
  readonly head: ResponseHead | undefined
  /** Its `RequestFinished` is out. */
  readonly finished: boolean
}

/** The first attempt (`previous` undefined) or the next one, on `backend`. */
export const begin = (
  previous: Attempt | undefined,
  backend: string,
  epoch: number,
  at: number
): Attempt => ({
  number: previous === undefined ? 1 : previous.number + 1,
  backend,
  epoch,
  startedAt: at,
  sent: false,
  replayed: false,
  head: undefined,
  finished: false
})

export const startedEvent = (attempt: Attempt): Started => ({
  _tag: "RequestStarted",
  at: attempt.startedAt,
  backend: attempt.backend,
  epoch: attempt.epoch,
  attempt: attempt.number
})

/** The driver is about to write the request (again, for a replay). */
export const sending = (attempt: Attempt): Attempt => attempt.sent ? attempt : { ...attempt, sent: true }

/** Sent once more on a fresh connection: nothing has reached the backend of this try yet. */
export const replaying = (attempt: Attempt): Attempt => ({ ...attempt, sent: false, replayed: true })

export const responded = (attempt: Attempt, head: ResponseHead): Attempt => ({ ...attempt, head })

/** The answers that may ask for a pause with `Retry-After`: a 503, or a 429. */
export const mayAskForPause = (status: number): boolean => status === 503 || status === 429

/**
 * What a complete answer says about the backend: `overloaded` for a 503, or a 429 that asked for a
 * pause; `throttled` for any other 429; `server-error` for other 5xx; else `success`.
 */
export const answerOutcome = (head: ResponseHead): RequestOutcome =>
  head.status === 503 || (head.status === 429 && head.askedToWait)
    ? "overloaded"
    : head.status === 429
    ? "throttled"
    : head.status >= 500
    ? "server-error"
    : "success"

/**
 * Closes the attempt with `outcome` at `at`: the closed attempt and its one `RequestFinished`, or
 * `undefined` when it was closed already. Latency runs to the response head, or to the end.
 */
export const finish = (
  attempt: Attempt,
  outcome: RequestOutcome,
  at: number
): { readonly attempt: Attempt; readonly event: Finished } | undefined => {
  if (attempt.finished) return undefined
  const head = attempt.head
  const latencyMs = (head === undefined ? at : head.at) - attempt.startedAt
  const holdMs = head?.holdMs
  // Two literals rather than a spread: this runs for every request.
  const event: Finished = holdMs === undefined
    ? { _tag: "RequestFinished", at, backend: attempt.backend, epoch: attempt.epoch, outcome, latencyMs }
    : {
      _tag: "RequestFinished",
      at,
      backend: attempt.backend,
      epoch: attempt.epoch,
      outcome,
      latencyMs,
      retryAfterMs: holdMs
    }
  return { attempt: { ...attempt, finished: true }, event }
}

/** What the attempt's failure means for the backend: a body the client made too large is not its fault. */
export const backendOutcome = (outcome: FailureOutcome): RequestOutcome =>
  outcome === "body-too-large" ? "aborted" : outcome

export type AfterFailure = "gone" | "replay" | "cut" | "backoff" | "answer"

export interface Failure {
  readonly outcome: FailureOutcome
  /** No byte of the client's body has been read yet, so it could still go to another backend. */
  readonly bodyIntact: boolean
  /** The client has gone away. */
  readonly clientGone: boolean
}

/** The failed attempt as the retry policy reads it. */
export const failedAttempt = (request: RequestTraits, attempt: Attempt, failure: Failure): FailedAttempt => ({
  method: request.method,
  outcome: failure.outcome,
  hasBody: request.hasBody,
  sent: attempt.sent,
  bodyIntact: failure.bodyIntact,
  responded: attempt.head !== undefined
})

/** What follows a failed attempt; see the module comment for the order of the rules. */
export const afterFailure = (request: RequestTraits, attempt: Attempt, failure: Failure): AfterFailure => {
  if (failure.clientGone) return "gone"
  if (
    request.pooled && failure.outcome === "reset" && attempt.head === undefined && !request.hasBody &&
    !attempt.replayed && isIdempotent(request.method)
  ) return "replay"
  if (attempt.head !== undefined) return "cut"
  if (attempt.number < request.maxAttempts && mayRetry(failedAttempt(request, attempt, failure))) return "backoff"
  return "answer"
}

export type AfterBackoff = "retry" | "answer"

/** After the backoff: retry when the pool has a backend not tried yet and its budget allows it. */
export const afterBackoff = (hasUntriedBackend: boolean, budgetAllows: () => boolean): AfterBackoff =>
  hasUntriedBackend && budgetAllows() ? "retry" : "answer"
