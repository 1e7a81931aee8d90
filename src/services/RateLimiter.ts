/**
 * Per-client rate limiting at the edge: a request over its client's rate is answered 429 with
 * `Retry-After` before any backend hears of it.
 */
import { Context } from "effect"

export type Admission = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number }

export interface RateLimiterShape {
  /** Synchronous: the data path asks once per request. Always allows when no limit is set. */
  readonly admit: (client: string) => Admission
  /** Requests refused so far (`lb_rate_limited_requests_total`). */
  readonly rejected: () => number
  /** Clients currently tracked; bounded however many clients there are. */
  readonly tracked: () => number
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("switchyard/services/RateLimiter") {}
