/**
 * The per-IP limiter: one token bucket per client address, in a map kept in least-recently-used
 * order. Memory stays bounded two ways: a sweeper fiber on Effect's `Clock` forgets buckets that
 * have refilled completely (they are the same as new ones), and at `maxClients` the least recently
 * seen client is forgotten first. Without `rateLimit` in the config every request is admitted.
 */
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { full, isIdle, take } from "../domain/ratelimit/TokenBucket.ts"
import type { Bucket, Limits } from "../domain/ratelimit/TokenBucket.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"

/** Clients tracked at once; beyond it the least recently seen is forgotten (it gets a full bucket). */
export const maxClients = 100_000

export const RateLimiterLive = Layer.effect(
  RateLimiter,
  Effect.gen(function*() {
    const { rateLimit } = yield* ProxyConfig
    if (rateLimit === undefined) {
      return RateLimiter.of({ admit: () => ({ allowed: true }), rejected: () => 0, tracked: () => 0 })
    }
    const clock = yield* Clock.Clock
    const limits: Limits = { ratePerSecond: rateLimit.requestsPerSecond, burst: rateLimit.burst }
    const buckets = new Map<string, Bucket>()
    let rejected = 0

    // A bucket refills from empty in burst / rate seconds; sweeping that often forgets every
    // client that has been quiet that long.
    const sweepEvery = Duration.millis(Math.max(1_000, (limits.burst / limits.ratePerSecond) * 1000))
    yield* Effect.sync(() => {
      const now = clock.currentTimeMillisUnsafe()
      for (const [client, bucket] of buckets) if (isIdle(bucket, now, limits)) buckets.delete(client)
    }).pipe(Effect.repeat(Schedule.spaced(sweepEvery)), Effect.delay(sweepEvery), Effect.forkScoped)

    return RateLimiter.of({
      admit: (client) => {
        const now = clock.currentTimeMillisUnsafe()
        const bucket = buckets.get(client)
        const decision = take(bucket ?? full(limits, now), now, limits)
        // Re-inserting keeps the map in least-recently-used order.
        if (bucket !== undefined) buckets.delete(client)
        else if (buckets.size >= maxClients) {
          const oldest = buckets.keys().next()
          if (oldest.done !== true) buckets.delete(oldest.value)
        }
        buckets.set(client, decision.bucket)
        if (decision.allowed) return { allowed: true }
        rejected++
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) }
      },
      rejected: () => rejected,
      tracked: () => buckets.size
    })
  })
)
