/**
 * What one resolution of a host (its A and AAAA queries) means for its members, and when to ask
 * again. Pure: the answers, the addresses in use and the failures so far in, a decision out.
 *
 * The rules, as nginx's `resolve` and Envoy's `STRICT_DNS` clusters keep them:
 * - a family that answered is taken as it is (no records of it is an empty part, ENODATA);
 * - a family whose query failed (SERVFAIL, NXDOMAIN, refused, timeout) keeps the addresses of
 *   that family in use: a DNS outage never empties a pool;
 * - an answer with no address at all is taken as a failure too, and the last good answer kept: a
 *   pool is emptied by the config, not by a zone that lost its records;
 * - the next resolution is after the smallest TTL of the answer, between `minTtlMs` and
 *   `maxTtlMs`; after a failure, sooner, backing off from `retryBaseMs` to `retryMaxMs` while
 *   failures go on.
 */
import { canonicalAddress } from "./DnsMembers.ts"

/** Never re-resolve more often than this, whatever the TTL (a TTL of 0 included). */
export const minTtlMs = 1_000
/** Re-resolve at least this often, however long the TTL, so a change shows within it. */
export const maxTtlMs = 300_000
/** The first retry after a failed resolution; doubled per failure in a row. */
export const retryBaseMs = 1_000
/** The longest wait between retries while resolution keeps failing. */
export const retryMaxMs = 30_000

/** One resolved address and its TTL in seconds, as `dns.Resolver` answers with `{ ttl: true }`. */
export interface DnsRecord {
  readonly address: string
  readonly ttl: number
}

/** One family's query: its records (none: the name has no such records), or why it failed. */
export type FamilyAnswer =
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<DnsRecord> }
  | { readonly _tag: "Failed"; readonly reason: string }

export interface Resolution {
  /** The addresses to have as members from now on, answer order, IPv4 first. */
  readonly addresses: ReadonlyArray<string>
  /** Why the answer was not taken in full (the last good addresses stood in); absent when it was. */
  readonly failure: string | undefined
  /** Resolutions in a row that failed, this one included: 0 when it did not. */
  readonly failures: number
  /** When to resolve again, in milliseconds from now. */
  readonly nextInMs: number
}

/** The wait before retrying after the `failures`-th failure in a row (1 for the first). */
export const retryDelayMs = (failures: number): number =>
  Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, failures - 1))

/** The wait until an answer with these records expires, within `minTtlMs` and `maxTtlMs`. */
export const ttlDelayMs = (records: ReadonlyArray<DnsRecord>): number => {
  const ttl = records.reduce((least, record) => Math.min(least, record.ttl * 1_000), maxTtlMs)
  return Math.min(maxTtlMs, Math.max(minTtlMs, ttl))
}

const isV6 = (address: string): boolean => address.includes(":")

const failureOf = (answer: FamilyAnswer, family: string): ReadonlyArray<string> =>
  answer._tag === "Failed" ? [`${family} ${answer.reason}`] : []

/**
 * The resolution `v4` and `v6` amount to, for a host whose members are at `current` now, after
 * `failures` failed resolutions in a row.
 */
export const resolve = (
  current: ReadonlyArray<string>,
  v4: FamilyAnswer,
  v6: FamilyAnswer,
  failures: number
): Resolution => {
  const part = (answer: FamilyAnswer, v6Family: boolean): ReadonlyArray<string> =>
    answer._tag === "Records"
      ? [...new Set(answer.records.map((record) => canonicalAddress(record.address)))]
      : current.filter((address) => isV6(address) === v6Family)
  const records = [v4, v6].flatMap((answer) => answer._tag === "Records" ? answer.records : [])
  const reasons = [...failureOf(v4, "A"), ...failureOf(v6, "AAAA")]
  const answered = [...part(v4, false), ...part(v6, true)]
  const failure = reasons.length > 0
    ? reasons.join(", ")
    : records.length === 0
    ? "no A or AAAA records"
    : undefined
  if (failure === undefined) return { addresses: answered, failure, failures: 0, nextInMs: ttlDelayMs(records) }
  const streak = failures + 1
  return {
    addresses: answered.length === 0 ? current : answered,
    failure,
    failures: streak,
    nextInMs: retryDelayMs(streak)
  }
}
