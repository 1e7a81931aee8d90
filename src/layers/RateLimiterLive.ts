/**
 * The per-IP limiter of a single process: one token bucket per client address
 * (`ClientBuckets`: bounded, least recently seen forgotten first), swept by a fiber on Effect's
 * `Clock`. Without `rateLimit` in the config every request is admitted. With workers, the
 * supervisor holds the buckets and workers spend leases of them (`LeasedRateLimiterLive`).
 */
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { makeClientBuckets, sweepIntervalMs } from "../domain/ratelimit/ClientBuckets.ts"
import type { ClientBuckets } from "../domain/ratelimit/ClientBuckets.ts"
import { take } from "../domain/ratelimit/TokenBucket.ts"
import type { Limits } from "../domain/ratelimit/TokenBucket.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import type { RateLimiterShape, Verdict } from "../services/RateLimiter.ts"

/** What every limiter allows when no `rateLimit` is configured. */
export const unlimited: RateLimiterShape = {
  admit: () => allowed,
  rejected: () => 0,
  storeErrors: () => 0,
  tracked: () => 0
}

export const allowed = { allowed: true } as const

/** Whole seconds for `Retry-After`, at least one. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/** The client buckets for the config's limits, swept on the `Clock` for the scope's lifetime. */
export const sweptBuckets = (limits: Limits) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const buckets = makeClientBuckets(limits)
    const every = Duration.millis(sweepIntervalMs(limits))
    yield* Effect.sync(() => buckets.sweep(clock.currentTimeMillisUnsafe())).pipe(
      Effect.repeat(Schedule.spaced(every)),
      Effect.delay(every),
      Effect.forkScoped
    )
    return buckets satisfies ClientBuckets
  })

/** One request's admission against its client's bucket, the bucket updated. */
export const takeToken = (buckets: ClientBuckets, limits: Limits, client: string, now: number): Verdict => {
  const decision = take(buckets.get(client, now), now, limits)
  buckets.set(client, decision.bucket)
  return decision.allowed ? allowed : { allowed: false, retryAfterSeconds: retryAfterSeconds(decision.retryAfterMs) }
}

export const limitsOf = (rateLimit: { readonly requestsPerSecond: number; readonly burst: number }): Limits => ({
  ratePerSecond: rateLimit.requestsPerSecond,
  burst: rateLimit.burst
})

export const RateLimiterLive = Layer.effect(
  RateLimiter,
  Effect.gen(function*() {
    const { rateLimit } = yield* ProxyConfig
    if (rateLimit === undefined) return RateLimiter.of(unlimited)
    const clock = yield* Clock.Clock
    const limits = limitsOf(rateLimit)
    const buckets = yield* sweptBuckets(limits)
    let rejected = 0
    return RateLimiter.of({
      admit: (client) => {
        const verdict = takeToken(buckets, limits, client, clock.currentTimeMillisUnsafe())
        if (!verdict.allowed) rejected++
        return verdict
      },
      rejected: () => rejected,
      storeErrors: unlimited.storeErrors,
      tracked: buckets.size
    })
  })
)
