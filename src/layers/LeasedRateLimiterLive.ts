/**
 * A worker's rate limiter: it spends leases of the client buckets the supervisor holds
 * (`domain/ratelimit/Lease.ts`), so N workers together admit no more than `rateLimit` per
 * client. A client's first request on a worker waits for its first lease (one IPC round trip,
 * a fraction of a millisecond); after that, a busy client's lease is renewed ahead of need.
 * Leases unused for `idleLeaseMs` go back to the supervisor's bucket.
 */
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { leaseSize, noLease, received, spend } from "../domain/ratelimit/Lease.ts"
import type { Lease } from "../domain/ratelimit/Lease.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import type { Verdict } from "../services/RateLimiter.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"
import { allowed, limitsOf, retryAfterSeconds, unlimited } from "./RateLimiterLive.ts"

/** A lease this long unused goes back to the supervisor. */
export const idleLeaseMs = 1_000

export const LeasedRateLimiterLive = Layer.effect(
  RateLimiter,
  Effect.gen(function*() {
    const { rateLimit } = yield* ProxyConfig
    if (rateLimit === undefined) return RateLimiter.of(unlimited)
    const link = yield* SupervisorLink
    const clock = yield* Clock.Clock
    const size = leaseSize(limitsOf(rateLimit), link.start.workers)
    const leases = new Map<string, Lease>()
    const waiting = new Map<string, Array<(verdict: Verdict) => void>>()
    let rejected = 0

    const ask = (client: string) => link.send({ _tag: "LeaseWanted", client, tokens: size })
    const refuse = (retryAfterMs: number): Verdict => {
      rejected++
      return { allowed: false, retryAfterSeconds: retryAfterSeconds(retryAfterMs) }
    }

    link.on("Lease", ({ client, granted, retryAfterMs }) => {
      const now = clock.currentTimeMillisUnsafe()
      let lease = received(leases.get(client) ?? noLease(now), now, granted, retryAfterMs)
      const queue = waiting.get(client) ?? []
      while (queue.length > 0) {
        const step = spend(lease, now, size)
        lease = step.lease
        if (step._tag === "Wait") {
          if (step.ask) ask(client)
          break
        }
        if (step._tag === "Spent" && step.ask) ask(client)
        queue.shift()?.(step._tag === "Spent" ? allowed : refuse(step.retryAfterMs))
      }
      if (queue.length === 0) waiting.delete(client)
      leases.set(client, lease)
    })

    yield* Effect.sync(() => {
      const now = clock.currentTimeMillisUnsafe()
      for (const [client, lease] of leases) {
        if (now - lease.usedAt < idleLeaseMs || lease.asking || waiting.has(client)) continue
        const tokens = Math.floor(lease.tokens)
        if (tokens > 0) link.send({ _tag: "LeaseReturned", client, tokens })
        leases.delete(client)
      }
    }).pipe(Effect.repeat(Schedule.spaced(Duration.millis(idleLeaseMs))), Effect.forkScoped)

    return RateLimiter.of({
      admit: (client) => {
        const now = clock.currentTimeMillisUnsafe()
        const step = spend(leases.get(client) ?? noLease(now), now, size)
        leases.set(client, step.lease)
        if (step._tag === "Empty") return refuse(step.retryAfterMs)
        if (step.ask) ask(client)
        if (step._tag === "Spent") return allowed
        return {
          allowed: "later",
          wait: (then) => {
            const queue = waiting.get(client)
            if (queue === undefined) waiting.set(client, [then])
            else queue.push(then)
          }
        }
      },
      rejected: () => rejected,
      storeErrors: unlimited.storeErrors,
      tracked: () => leases.size
    })
  })
)
