/**
 * Admission: what every request goes through before a backend is asked, whatever carries it on
 * (a plain exchange, an upgrade tunnel; HTTP/2 streams next). In order:
 *
 * 1. receive — the head scanned once, the request id, the client (`Reception.ts`);
 * 2. check — what Node's parser lets through but a backend must not see (`RequestChecks.ts`);
 * 3. admit — the client's rate limit (`rateLimit`);
 * 4. route — the pool, from the authority and the path (`routes`);
 * 5. select — the pool's strategy over its eligible backends; none eligible is a `503`.
 *
 * Steps 1–3 are `admit`; 4–5 are `place`, kept apart because a cache hit answers between them
 * without asking any backend. A refusal carries the answer (`domain/exchange/Statuses.ts`); the
 * driver writes it in its own framing and records it.
 */
import type { Excluded } from "../domain/Availability.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { Answer } from "../domain/exchange/Statuses.ts"
import { noBackendAnswer, rateLimitedAnswer } from "../domain/exchange/Statuses.ts"
import type { RequestFacts } from "../domain/selection/Strategy.ts"
import type { RateLimiterShape, Verdict } from "../services/RateLimiter.ts"
import type { ClientRequest } from "./ClientMessage.ts"
import { receive } from "./Reception.ts"
import type { Reception, ReceptionEnv } from "./Reception.ts"
import { checkRequest, isRejection } from "./RequestChecks.ts"
import type { CheckedRequest } from "./RequestChecks.ts"

/** What admission needs from the router, built once. */
export interface AdmissionEnv extends ReceptionEnv {
  readonly maxBodySize: number
  /** Whether the client may send another request now (`rateLimit`). */
  readonly admit: RateLimiterShape["admit"]
  /** The pool a request goes to, from its authority and target. */
  readonly route: (host: string | undefined, target: string) => string
  readonly select: (pool: string, facts: RequestFacts, excluded: Excluded) => BackendState | undefined
  /** For `Retry-After` on a 503: when a backend of the pool may plausibly be eligible again. */
  readonly retryAfterSeconds: (pool: string) => number
}

export interface Refusal {
  readonly _tag: "Refused"
  readonly reception: Reception
  readonly answer: Answer
  /** Seconds, for `Retry-After`. */
  readonly retryAfter: number | undefined
}

export interface Admitted {
  readonly _tag: "Admitted"
  readonly reception: Reception
  readonly checked: CheckedRequest
}

/**
 * Admission waiting on the rate limiter (a worker asking the supervisor for the client's tokens):
 * `wait` calls back with the outcome.
 */
export interface Deferred {
  readonly _tag: "Deferred"
  readonly wait: (then: (admission: Admitted | Refusal) => void) => void
}

const judged = (reception: Reception, checked: CheckedRequest, verdict: Verdict): Admitted | Refusal =>
  verdict.allowed
    ? { _tag: "Admitted", reception, checked }
    : { _tag: "Refused", reception, answer: rateLimitedAnswer, retryAfter: verdict.retryAfterSeconds }

/** Steps 1–3: received, checked, and within the client's rate limit — or the answer refusing it. */
export const admit = (env: AdmissionEnv, request: ClientRequest): Admitted | Refusal | Deferred => {
  const reception = receive(env, request)
  const checked = checkRequest(request.url ?? "", reception.head, env.maxBodySize, request.httpVersionMajor)
  if (isRejection(checked)) {
    return { _tag: "Refused", reception, answer: checked, retryAfter: undefined }
  }
  const admission = env.admit(reception.client)
  if (admission.allowed === "later") {
    return { _tag: "Deferred", wait: (then) => admission.wait((verdict) => then(judged(reception, checked, verdict))) }
  }
  return judged(reception, checked, admission)
}

export interface Placement {
  readonly pool: string
  /** The backend chosen; `undefined` when none is eligible (`noBackend` says how to answer). */
  readonly backend: BackendState | undefined
}

/** Steps 4–5: the request's pool and the backend its strategy picks. */
export const place = (env: AdmissionEnv, checked: CheckedRequest, facts: RequestFacts): Placement => {
  const pool = env.route(checked.authority, checked.path)
  return { pool, backend: env.select(pool, facts, undefined) }
}

/** The answer when a pool has no eligible backend, with the `Retry-After` it deserves. */
export const noBackend = (
  env: AdmissionEnv,
  pool: string
): { readonly answer: Answer; readonly retryAfter: number } => ({
  answer: noBackendAnswer,
  retryAfter: env.retryAfterSeconds(pool)
})
