/**
 * The shared limit as Redis keeps it: GCRA, the generic cell rate algorithm (ATM Forum TM 4.0;
 * the form redis-cell and Brandur Leach's "Rate limiting, cells, and GCRA" made known), which
 * is a token bucket stored as one number per client: its theoretical arrival time (TAT), the
 * moment the bucket would be full again. A request is admitted when TAT, pushed one interval
 * on, is at most `burst` intervals ahead of now; then TAT moves on by one interval. So a quiet
 * client may send `burst` requests at once and then one per interval, exactly as
 * `TokenBucket.ts` admits them.
 *
 * The script reads the time from Redis itself (`TIME`), so the instances sharing it need not
 * agree on the time. It runs atomically, one round trip per request, and the key expires when
 * the bucket is full again (a missing key is a full bucket), so Redis holds only busy clients.
 * Needs Redis 5 or later (scripts replicate their effects, which `TIME` requires).
 */
import type { Limits } from "./TokenBucket.ts"

/** Every key the limiter writes starts with this. */
export const keyPrefix = "switchyard:rl:"

/**
 * KEYS[1]: the client's key. ARGV[1]: the interval between requests, in microseconds.
 * ARGV[2]: the burst, in microseconds (interval × burst). Replies `{1, 0}` when admitted,
 * `{0, ms}` when refused: the milliseconds until a request would be admitted.
 * TAT is written with `%.0f`: a Lua number passed to Redis as it is keeps 14 digits only, and
 * microseconds since 1970 have 16. At that size a double steps by a quarter of a microsecond, so
 * an interval below that (over 4 million requests per second per client) does not move TAT:
 * such a limit admits everything, and its key still gets the shortest expiry Redis takes, 1 ms.
 */
export const gcraScript = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local nextTat = tat + tonumber(ARGV[1])
local early = nextTat - tonumber(ARGV[2]) - now
if early > 0 then return {0, math.ceil(early / 1000)} end
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.max(1, math.ceil((nextTat - now) / 1000)))
return {1, 0}`

/** The script's ARGV for the limits, computed once. */
export const gcraArguments = (limits: Limits): readonly [string, string] => {
  const interval = 1_000_000 / limits.ratePerSecond
  return [String(interval), String(interval * limits.burst)]
}

export type GcraVerdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number }

const admitted: GcraVerdict = { allowed: true }

/** The script's reply as a verdict; `undefined` for anything else (not our script, or not Redis). */
export const decodeGcraReply = (reply: unknown): GcraVerdict | undefined => {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined
  const [allowed, retryAfterMs] = reply as ReadonlyArray<unknown>
  if (typeof retryAfterMs !== "number" || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return undefined
  if (allowed === 1) return admitted
  if (allowed === 0 && retryAfterMs > 0) return { allowed: false, retryAfterMs }
  return undefined
}
