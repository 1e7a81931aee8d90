/**
 * When a failed request may be tried again on another backend, and how long to wait first.
 *
 * The rule: a request is retried only when the backend produced no response head, and either
 * - no byte of it reached a backend (the connection was never established), whatever its method;
 * - or it is idempotent (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, PUT, DELETE, TRACE) with no body.
 * So a POST whose bytes reached a backend is never sent twice, and a body is never replayed.
 *
 * The wait: exponential backoff from `baseDelay`, doubling per retry, each delay scaled by a
 * random factor in [0.8, 1.2] (Effect's `Schedule.jittered`; "Exponential Backoff and Jitter",
 * AWS Architecture Blog), capped at `maxDelay`, at most `attempts - 1` retries. The jitter draws
 * from Effect's `Random`, so a seeded `Random` makes the delays exact.
 */
import { Duration, Effect, Schedule } from "effect"
import type { RequestOutcome } from "../BackendEvent.ts"

const idempotentMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])

/** RFC 9110 §9.2.2: sending the request twice has the effect of sending it once. */
export const isIdempotent = (method: string): boolean => idempotentMethods.has(method)

export interface FailedAttempt {
  readonly method: string
  readonly outcome: RequestOutcome | "body-too-large"
  /** The request has a body (declared non-zero length, or chunked). */
  readonly hasBody: boolean
  /** The upstream client began writing the request: bytes may have reached the backend. */
  readonly sent: boolean
  /** No byte of the client's body has been read yet, so it can still go to another backend. */
  readonly bodyIntact: boolean
  /** The backend's response head arrived (a failure mid-body cannot be retried). */
  readonly responded: boolean
}

const retriableOutcomes: ReadonlySet<string> = new Set(["connect-failed", "reset", "timeout", "bad-response"])

export const mayRetry = (attempt: FailedAttempt): boolean => {
  if (attempt.responded || !retriableOutcomes.has(attempt.outcome)) return false
  // A failed connect processed nothing, even when the request had begun to go out (an HTTP/2
  // stream the backend refused): what matters then is only whether the body can be sent again.
  if (!attempt.sent || attempt.outcome === "connect-failed") return !attempt.hasBody || attempt.bodyIntact
  return isIdempotent(attempt.method) && !attempt.hasBody
}

export interface RetrySettings {
  /** Total tries, the first included. */
  readonly attempts: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
}

/**
 * One request's backoff: the delay (ms) before its next try after `failed` at `now`, or
 * `undefined` to give up. Stepped from `retrySchedule` (`services/RetryBackoff.ts`); the driver
 * waits the delay on its own clock (the proxy's, or the lab's virtual one).
 */
export type Backoff = (now: number, failed: FailedAttempt) => number | undefined

/**
 * The backoff between tries, fed each failed attempt: it stops when the attempt may not be
 * retried (`mayRetry`) or when `attempts - 1` retries have been made.
 */
export const retrySchedule = (settings: RetrySettings) =>
  Schedule.exponential(settings.baseDelay).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, settings.maxDelay))),
    Schedule.setInputType<FailedAttempt>(),
    Schedule.while(({ input }) => mayRetry(input)),
    Schedule.upTo({ times: settings.attempts - 1 })
  )
