/**
 * Rate limits across workers: the supervisor holds each client's one token bucket and leases its
 * tokens out; a worker spends its lease locally, with no message per request, and asks for more
 * ahead of need. Tokens are never granted twice, so N workers admit no more than the limit; what
 * a worker holds unspent goes back to the bucket once the client is quiet there.
 */
import { refill } from "./TokenBucket.ts"
import type { Bucket, Limits } from "./TokenBucket.ts"

export interface Grant {
  readonly bucket: Bucket
  readonly granted: number
  /** With nothing granted: how long until the bucket holds a whole token again. */
  readonly retryAfterMs: number
}

/** Up to `wanted` whole tokens from the bucket as of `now`. */
export const grant = (bucket: Bucket, now: number, limits: Limits, wanted: number): Grant => {
  const current = refill(bucket, now, limits)
  const granted = Math.min(Math.max(1, Math.floor(wanted)), Math.floor(current.tokens))
  if (granted >= 1) return { bucket: { tokens: current.tokens - granted, at: current.at }, granted, retryAfterMs: 0 }
  return { bucket: current, granted: 0, retryAfterMs: ((1 - current.tokens) / limits.ratePerSecond) * 1000 }
}

/** Unspent tokens back into the bucket, which never holds more than `burst`. */
export const giveBack = (bucket: Bucket, now: number, limits: Limits, tokens: number): Bucket => {
  const current = refill(bucket, now, limits)
  return { tokens: Math.min(limits.burst, current.tokens + tokens), at: current.at }
}

/**
 * How many tokens a worker asks for at a time: about 50 ms of the client's rate, at most its
 * share of the burst (so one worker cannot take a burst the others' connections need), at
 * least one.
 */
export const leaseSize = (limits: Limits, workers: number): number =>
  Math.max(1, Math.min(Math.ceil(limits.burst / workers), Math.ceil(limits.ratePerSecond / 20)))

/** A worker's lease on one client's tokens. */
export interface Lease {
  readonly tokens: number
  /** A `LeaseWanted` is on its way: ask no more until it is answered. */
  readonly asking: boolean
  /** The bucket was empty: refuse locally until then, without asking. */
  readonly emptyUntil: number
  readonly usedAt: number
}

export const noLease = (now: number): Lease => ({ tokens: 0, asking: false, emptyUntil: 0, usedAt: now })

export type Spend =
  /** Admitted from the lease; `ask` says to ask for more now (the lease runs low). */
  | { readonly _tag: "Spent"; readonly lease: Lease; readonly ask: boolean }
  /** Over the limit, as the supervisor last said. */
  | { readonly _tag: "Empty"; readonly lease: Lease; readonly retryAfterMs: number }
  /** Nothing to spend yet: wait for the supervisor's answer (and ask, unless `asking` already). */
  | { readonly _tag: "Wait"; readonly lease: Lease; readonly ask: boolean }

/** One request's admission against the worker's lease; `size` is `leaseSize`. */
export const spend = (lease: Lease, now: number, size: number): Spend => {
  if (lease.tokens >= 1) {
    const tokens = lease.tokens - 1
    // Asking ahead keeps a busy client from ever waiting; with leases of one token it would
    // only strand tokens in workers the client may not come back to.
    const ask = size > 1 && !lease.asking && tokens <= size / 2
    return { _tag: "Spent", lease: { ...lease, tokens, asking: lease.asking || ask, usedAt: now }, ask }
  }
  if (now < lease.emptyUntil) {
    return { _tag: "Empty", lease: { ...lease, usedAt: now }, retryAfterMs: lease.emptyUntil - now }
  }
  return { _tag: "Wait", lease: { ...lease, asking: true, usedAt: now }, ask: !lease.asking }
}

/** The supervisor answered: `granted` tokens more, or, with none, empty for `retryAfterMs`. */
export const received = (lease: Lease, now: number, granted: number, retryAfterMs: number): Lease => ({
  ...lease,
  tokens: lease.tokens + granted,
  asking: false,
  emptyUntil: granted > 0 ? 0 : now + retryAfterMs
})
