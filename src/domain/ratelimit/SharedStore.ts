/**
 * What a limiter whose buckets are shared in a store (Redis) does around the store: every request
 * is first held to the instance's own bucket of the same limits, then the store is asked; a store
 * that cannot answer in time leaves the request to `onError`.
 *
 * While the store is up the local bucket seldom refuses what the shared one would admit: it
 * counts only the requests this instance passed on, which the shared bucket counted too, along
 * with every other instance's. While the store is away it bounds the worst case: with
 * `onError: allow`, each instance still admits no more than the limit per client, so N instances
 * admit at most N times it, never without bound. It also keeps a client that floods one instance
 * from costing the store a round trip per refused request.
 */
import type { GcraVerdict } from "./Gcra.ts"

export type OnError = "allow" | "deny"

const allowed: GcraVerdict = { allowed: true }
/** `Retry-After` has whole seconds only, and the store may be back well within one. */
const denied: GcraVerdict = { allowed: false, retryAfterMs: 1_000 }

/**
 * A request the store could not answer (down, slower than the timeout, an error reply): admitted
 * (fail open, as Envoy's and Kong's limiters do by default) or refused.
 */
export const whenStoreFails = (onError: OnError): GcraVerdict => onError === "allow" ? allowed : denied

/** Reconnection delays: exponential from `reconnectBaseMs`, capped, jittered. */
export const reconnectBaseMs = 50
export const reconnectCapMs = 1_000

/**
 * The wait before reconnection attempt `retries` (0 for the first): `reconnectBaseMs × 2^retries`
 * up to `reconnectCapMs`, times a jitter of 0.8–1.2 from `random` in [0, 1) (as
 * `Schedule.jittered`), so instances that lost the same Redis do not all come back in step. The
 * cap is short because a refused connect is cheap and every second away is a second on the
 * fallback.
 */
export const reconnectDelayMs = (retries: number, random: number): number =>
  Math.round(Math.min(reconnectCapMs, reconnectBaseMs * 2 ** Math.min(retries, 30)) * (0.8 + 0.4 * random))
