/**
 * The log's requests as the lab's arrivals, read again for each run: at the time each arrived
 * (ms after the first), from its client, to its path, a POST or PATCH carrying a body.
 *
 * Lines are in the order requests ended, not arrived; they pass through a small agenda and leave
 * it once no later line can arrive before them (a line is out of order by at most the longest
 * request, plus the log's batching).
 *
 * What a request meets wherever it is sent is drawn as in the lab (one latency quantile, one
 * error draw), but the quantile is the request's own where the log knows it: the rank of its
 * `upstreamMs` among its backend's answers of that window. Sent to the same backend, it takes as
 * long as it did; sent to another, it is as slow there as it was among its neighbours here (a
 * heavy request is heavy everywhere). Its error draw falls in its backend's 5xx share when it
 * got a 5xx. Two uniform draws per request either way, so runs stay aligned. And the time the
 * log shows it took beyond its backend's answer (the proxy's own, the body's) is added to what
 * the lab measures, so replay and log measure the same span.
 */
import type { SimulatedBackend, Timeline } from "../BackendModel.ts"
import { conditionAt, timelineOf } from "../BackendModel.ts"
import { makeEventQueue } from "../EventQueue.ts"
import type { Workload } from "../Lab.ts"
import type { Arrival } from "../Traffic.ts"
import type { LoggedRequest } from "./LogLine.ts"
import { isReplayed, ownAfterMs, poolOfRequest } from "./TrafficLog.ts"

/** How much later than its end a request's line may be written (batches of 50 ms, workers). */
const batchingSlackMs = 1_000

const noHeader = (): string | undefined => undefined

/** The quantile of `x` among evenly spaced quantile points: the inverse of `interpolate`, ties at their middle. */
export const rankOf = (points: Float64Array, x: number): number => {
  const last = points.length - 1
  if (last < 1) return 0.5
  let low = 0
  let high = last
  // The first point at or above x.
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((points[middle] ?? 0) < x) low = middle + 1
    else high = middle
  }
  const above = low
  if (above === 0) return 0
  if ((points[above] ?? 0) < x) return 1
  let end = above
  while (end < last && (points[end + 1] ?? 0) === x) end++
  if ((points[above] ?? 0) === x) return (above + end) / 2 / last
  const below = points[above - 1] ?? 0
  const span = (points[above] ?? 0) - below
  return (above - 1 + (span === 0 ? 0 : (x - below) / span)) / last
}

export const replayWorkload = (input: {
  /** A fresh read of the log: its requests in file order, then `undefined`. */
  readonly open: () => () => LoggedRequest | undefined
  readonly pool: string
  readonly startMs: number
  readonly maxDurationMs: number
  /** `TrafficSummary.meanAfterMs`. */
  readonly meanAfterMs: number
  readonly backends: ReadonlyArray<SimulatedBackend>
  readonly expectedRequests: number
}): Workload => {
  const timelines = new Map<string, Timeline>(input.backends.map((backend) => [backend.name, timelineOf(backend)]))
  const lagMs = input.maxDurationMs + batchingSlackMs

  const arrivalOf = (request: LoggedRequest, random: () => number): Arrival => {
    const at = request.at - input.startMs
    const uSpread = random()
    const uShare = random()
    const timeline = request.backend === undefined ? undefined : timelines.get(request.backend)
    const condition = timeline === undefined ? undefined : conditionAt(timeline, at)
    const latency = condition?.latency
    const known = latency?._tag === "Empirical" && request.upstreamMs !== undefined
    const uLatency = known ? rankOf(latency.points, request.upstreamMs ?? 0) : uSpread
    const reset = condition?.resetFraction ?? 0
    const error = condition?.errorFraction ?? 0
    const uError = !known
      ? uShare
      : request.status >= 500
      ? reset + uShare * error
      : reset + error + uShare * (1 - reset - error)
    return {
      at,
      client: 0,
      post: request.method === "POST" || request.method === "PATCH",
      uLatency,
      uError,
      facts: { clientAddress: request.client, path: request.path, header: noHeader },
      afterMs: ownAfterMs(request) ?? input.meanAfterMs
    }
  }

  return {
    backends: input.backends,
    clients: 0,
    expectedRequests: input.expectedRequests,
    arrivals: (random) => {
      const next = input.open()
      const waiting = makeEventQueue<LoggedRequest>()
      let latestEnd = Number.NEGATIVE_INFINITY
      let done = false
      return () => {
        while (!done && !(waiting.nextAt() < latestEnd - lagMs)) {
          const request = next()
          if (request === undefined) done = true
          else if (isReplayed(request) && poolOfRequest(request) === input.pool) {
            waiting.push(request.at, request)
            latestEnd = Math.max(latestEnd, request.at + request.durationMs)
          }
        }
        const first = waiting.pop()
        return first === undefined ? undefined : arrivalOf(first.value, random)
      }
    }
  }
}
