/**
 * Per-client rate limiting at the edge: a request over its client's rate is answered 429 with
 * `Retry-After` before any backend hears of it.
 */
import { Context } from "effect"

export type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number }

/**
 * A verdict, or the promise of one: `wait` calls back once it is known. With workers, when the
 * worker holds none of the client's tokens yet, the supervisor answers a fraction of a
 * millisecond later; with `rateLimit.store`, Redis answers, or the store's timeout passes.
 */
export type Admission = Verdict | {
  readonly allowed: "later"
  readonly wait: (then: (verdict: Verdict) => void) => void
}

export interface RateLimiterShape {
  /** The data path asks once per request; synchronous but for a worker's first sight of a client. Always allows when no limit is set. */
  readonly admit: (client: string) => Admission
  /** Requests refused so far (`lb_rate_limited_requests_total`). */
  readonly rejected: () => number
  /**
   * Requests the shared store (`rateLimit.store`) could not answer in time, which followed
   * `onError` instead (`lb_rate_limit_store_errors_total`); 0 without a store.
   */
  readonly storeErrors: () => number
  /** Clients currently tracked; bounded however many clients there are. */
  readonly tracked: () => number
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("switchyard/services/RateLimiter") {}
