/**
 * One token bucket per client, in a map kept in least-recently-used order, bounded two ways: at
 * `maxClients` the least recently seen client is forgotten first, and `sweep` forgets buckets
 * that have refilled completely (they are the same as new ones). Used by the limiter of a single
 * process and by the supervisor that leases tokens to workers.
 */
import { full, isIdle } from "./TokenBucket.ts"
import type { Bucket, Limits } from "./TokenBucket.ts"

/** Clients tracked at once; beyond it the least recently seen is forgotten (it gets a full bucket). */
export const maxClients = 100_000

export interface ClientBuckets {
  /** The client's bucket (a full one for a client not seen, or forgotten). */
  readonly get: (client: string, now: number) => Bucket
  /** Stores the client's bucket as the most recently seen. */
  readonly set: (client: string, bucket: Bucket) => void
  readonly sweep: (now: number) => void
  readonly size: () => number
}

export const makeClientBuckets = (limits: Limits): ClientBuckets => {
  const buckets = new Map<string, Bucket>()
  return {
    get: (client, now) => buckets.get(client) ?? full(limits, now),
    set: (client, bucket) => {
      // Re-inserting keeps the map in least-recently-used order.
      if (!buckets.delete(client) && buckets.size >= maxClients) {
        const oldest = buckets.keys().next()
        if (oldest.done !== true) buckets.delete(oldest.value)
      }
      buckets.set(client, bucket)
    },
    sweep: (now) => {
      for (const [client, bucket] of buckets) if (isIdle(bucket, now, limits)) buckets.delete(client)
    },
    size: () => buckets.size
  }
}

/** A bucket refills from empty in burst / rate seconds: sweeping that often forgets every quiet client. */
export const sweepIntervalMs = (limits: Limits): number => Math.max(1_000, (limits.burst / limits.ratePerSecond) * 1000)
