/**
 * A backend's `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date. Anything
 * else (negative, fractional, a malformed date) is ignored, as the RFC leaves it.
 */

/** Milliseconds from `now` (epoch ms) that `value` asks to wait; `undefined` when it is not valid. */
export const retryAfterMs = (value: string | ReadonlyArray<string> | undefined, now: number): number | undefined => {
  const text = (typeof value === "string" ? value : value?.[0])?.trim()
  if (text === undefined || text === "") return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1_000
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The pause a backend's policy honours (`retry.honorRetryAfter`): its `Retry-After`, capped at
 * `maxMs`; none when the policy does not honour it (`maxMs` absent) or there is nothing to wait.
 */
export const honouredPauseMs = (waitMs: number | undefined, maxMs: number | undefined): number | undefined =>
  maxMs === undefined || waitMs === undefined || waitMs <= 0 ? undefined : Math.min(waitMs, maxMs)
