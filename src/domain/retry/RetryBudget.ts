/**
 * A retry budget (Linkerd's `retryBudget`, Envoy's `retry_budget`): retries may add at most a
 * share of the traffic, so a failing backend cannot turn every request into several and bury the
 * pool under a retry storm. Over the last `window`:
 *
 *   retries ≤ percent/100 · requests + minRetriesPerSecond · window in seconds
 *
 * where `requests` are client requests sent to a backend and `retries` the further attempts. The
 * floor lets a quiet proxy retry at all. A retry that would go over is not made: the client gets
 * the failure as it stands. The window slides in tenths: counts live in ten buckets of
 * `window / 10`, and a bucket is forgotten once it is a whole window old. So the rule holds over
 * the window before every retry the budget allows.
 */

export interface RetryBudgetSettings {
  readonly percent: number
  readonly minRetriesPerSecond: number
  readonly windowMs: number
}

export interface RetryBudget {
  /** A client request went to a backend at `now` (epoch ms). */
  readonly deposit: (now: number) => void
  /** Whether a retry may be made at `now`; when it may, it is counted. */
  readonly withdraw: (now: number) => boolean
}

const buckets = 10

export const makeRetryBudget = (settings: RetryBudgetSettings): RetryBudget => {
  const bucketMs = settings.windowMs / buckets
  // Compared in hundredths, so that e.g. 20 % of 5 requests is exactly 1 retry, not 1 + 2⁻⁵².
  const floorHundredths = (settings.minRetriesPerSecond * settings.windowMs) / 10
  const requests = new Float64Array(buckets)
  const retries = new Float64Array(buckets)
  /** The bucket number (time / bucketMs) each slot is counting now. */
  const stamps = new Float64Array(buckets).fill(-1)

  /** The slot of the bucket holding `now`, emptied if it last counted an older bucket. */
  const slotAt = (now: number): number => {
    const bucket = Math.floor(now / bucketMs)
    const slot = bucket % buckets
    if (stamps[slot] !== bucket) {
      stamps[slot] = bucket
      requests[slot] = 0
      retries[slot] = 0
    }
    return slot
  }

  return {
    deposit: (now) => {
      const slot = slotAt(now)
      requests[slot] = (requests[slot] ?? 0) + 1
    },
    withdraw: (now) => {
      const slot = slotAt(now)
      const oldest = (stamps[slot] ?? 0) - buckets
      let sent = 0
      let retried = 0
      for (let i = 0; i < buckets; i++) {
        if ((stamps[i] ?? -1) <= oldest) continue
        sent += requests[i] ?? 0
        retried += retries[i] ?? 0
      }
      if (100 * (retried + 1) > settings.percent * sent + floorHundredths) return false
      retries[slot] = (retries[slot] ?? 0) + 1
      return true
    }
  }
}
