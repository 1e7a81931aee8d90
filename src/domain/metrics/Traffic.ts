/**
 * What the dashboard answers first about each backend: how its responses split by status class
 * and how slow they were lately. Both come from the exact request counters behind
 * `lb_requests_total` and `lb_request_duration_seconds` (with workers, the supervisor's sums),
 * read when the trend buffer takes a sample, never per request.
 *
 * "Lately" is the last minute of the trend buffer (or all of it, when it is shorter): a quantile
 * since start-up would hide a backend that turned slow an hour in.
 */
import { bucketQuantile, countsBetween } from "./Quantile.ts"

export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx"

/** Responses counted by status class. */
export type StatusCounts = Readonly<Record<StatusClass, number>>

export const noResponses: StatusCounts = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }

const classes: ReadonlyArray<StatusClass> = ["1xx", "2xx", "3xx", "4xx", "5xx"]

/** A status outside 100–599 joins the nearest class, so every response is counted somewhere. */
export const statusClassOf = (status: number): StatusClass =>
  classes[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))] ?? "5xx"

/** One `lb_requests_total` series: its labels that matter here and its count. */
export interface RequestSeries {
  readonly backend: string
  readonly status: number
  readonly count: number
}

/** Every backend label's responses by class, summed over methods and statuses. */
export const statusCountsByBackend = (series: Iterable<RequestSeries>): Map<string, StatusCounts> => {
  const sums = new Map<string, Record<StatusClass, number>>()
  for (const { backend, count, status } of series) {
    let sum = sums.get(backend)
    if (sum === undefined) {
      sum = { ...noResponses }
      sums.set(backend, sum)
    }
    sum[statusClassOf(status)] += count
  }
  return sums
}

/** A backend's traffic at one moment, as the trend buffer keeps it: counts since start-up. */
export interface TrafficReading {
  readonly responses: StatusCounts
  /** Observations per bucket of `lb_request_duration_seconds`; absent before the first. */
  readonly latencyBuckets: ReadonlyArray<number> | undefined
}

/** One backend's traffic over the recent window. */
export interface RecentTraffic {
  /** The window's length: from the older sample to the newest. */
  readonly windowSeconds: number
  readonly responses: StatusCounts
  /** Estimated from the duration histogram's buckets (`null` with no request in the window). */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

export const recentWindowSeconds = 60

/**
 * Picks the two samples a recent window runs between: the newest, and the newest of those at
 * least `recentWindowSeconds` older (the oldest there is, when none is). `undefined` before the
 * second sample. `at` is epoch ms, oldest first.
 */
export const recentWindow = <A extends { readonly at: number }>(
  samples: ReadonlyArray<A>
): { readonly older: A; readonly newer: A } | undefined => {
  const newer = samples[samples.length - 1]
  const first = samples[0]
  if (newer === undefined || first === undefined || samples.length < 2) return undefined
  let index = samples.length - 2
  while (index > 0 && (samples[index]?.at ?? 0) > newer.at - recentWindowSeconds * 1000) index--
  return { older: samples[index] ?? first, newer }
}

const toMs = (seconds: number | undefined): number | null =>
  seconds === undefined ? null : Math.round(seconds * 1_000_000) / 1000

/** What happened between two readings of one backend, `older` taken `windowSeconds` earlier. */
export const trafficBetween = (
  boundaries: ReadonlyArray<number>,
  windowSeconds: number,
  older: TrafficReading,
  newer: TrafficReading
): RecentTraffic => {
  const responses = { ...noResponses }
  for (const name of classes) responses[name] = Math.max(0, newer.responses[name] - older.responses[name])
  const buckets = newer.latencyBuckets === undefined ? [] : countsBetween(older.latencyBuckets, newer.latencyBuckets)
  return {
    windowSeconds,
    responses,
    p50Ms: toMs(bucketQuantile(0.5, boundaries, buckets)),
    p99Ms: toMs(bucketQuantile(0.99, boundaries, buckets))
  }
}
