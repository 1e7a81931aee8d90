/**
 * A token bucket (the classic rate limiter, as in nginx's `limit_req` with `burst`): it holds up
 * to `burst` tokens, refills at `ratePerSecond`, and a request spends one. A full bucket lets a
 * burst through at once; after that, requests pass at the refill rate.
 *
 * Pure: the bucket is a value and time is passed in, so refill is exact under any clock.
 */

export interface Bucket {
  readonly tokens: number
  /** When `tokens` was computed, epoch ms. */
  readonly at: number
}

export interface Limits {
  readonly ratePerSecond: number
  readonly burst: number
}

export const full = (limits: Limits, at: number): Bucket => ({ tokens: limits.burst, at })

/** The bucket as of `now`: refilled for the time since it was last computed, up to `burst`. */
export const refill = (bucket: Bucket, now: number, limits: Limits): Bucket => {
  if (now <= bucket.at) return bucket
  return { tokens: Math.min(limits.burst, bucket.tokens + ((now - bucket.at) / 1000) * limits.ratePerSecond), at: now }
}

export type Decision =
  | { readonly allowed: true; readonly bucket: Bucket }
  | { readonly allowed: false; readonly bucket: Bucket; readonly retryAfterMs: number }

/** Spends one token if there is one; otherwise says how long until there will be. */
export const take = (bucket: Bucket, now: number, limits: Limits): Decision => {
  const current = refill(bucket, now, limits)
  if (current.tokens >= 1) return { allowed: true, bucket: { tokens: current.tokens - 1, at: current.at } }
  return { allowed: false, bucket: current, retryAfterMs: ((1 - current.tokens) / limits.ratePerSecond) * 1000 }
}

/**
 * Whether a bucket has refilled completely by `now`: then it is indistinguishable from a new
 * one, and a limiter may forget it.
 */
export const isIdle = (bucket: Bucket, now: number, limits: Limits): boolean =>
  refill(bucket, now, limits).tokens >= limits.burst
