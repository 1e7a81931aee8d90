/**
 * The first pass over a traffic log: what was observed (per pool, the latency, status and last
 * backend of every request, for the calibration) and what the backend models are fitted from
 * (`BackendFit`), in one read, line by line. The requests themselves are not kept: the replay
 * reads the log again (`ReplayTraffic`), so memory is a window's samples, three numbers per
 * request for the percentiles, and the distinct clients.
 *
 * Replayed are the requests that reached the routing: those with a backend, and the proxy's own
 * 5xx (no backend available, which the replay can come to as well). The rest (cache hits,
 * rate-limit and admission refusals) never met a backend and are counted as skipped.
 */
import { defaultPool } from "../../Backend.ts"
import type { SampleRecorder } from "../Samples.ts"
import { makeSampleRecorder } from "../Samples.ts"
import type { BackendFitter, FitSettings } from "./BackendFit.ts"
import { defaultFitSettings, makeBackendFitter } from "./BackendFit.ts"
import type { DownPeriod } from "./JournalScript.ts"
import type { LoggedRequest } from "./LogLine.ts"

/** Whether a logged request is one the replay sends through the proxy again. */
export const isReplayed = (request: LoggedRequest): boolean => request.backend !== undefined || request.status >= 500

/**
 * What a request of one attempt waited beyond its backend's response head (the proxy's own work,
 * the body's transfer); `undefined` when the log cannot tell (a retry's earlier attempts and
 * backoff are in its duration too, a failure has no head).
 */
export const ownAfterMs = (request: LoggedRequest): number | undefined =>
  request.retries === 0 && request.upstreamMs !== undefined
    ? Math.max(0, request.durationMs - request.upstreamMs)
    : undefined

export const poolOfRequest = (request: LoggedRequest): string => request.pool ?? defaultPool

export interface PoolObservation {
  readonly requests: number
  /** Arrival (ms after `startMs`), whole duration and status of each request. */
  readonly recorder: SampleRecorder
  /** Requests whose last attempt went to each backend. */
  readonly lastAttempts: ReadonlyMap<string, number>
  readonly retries: number
  readonly clients: number
}

export interface TrafficSummary {
  /** The earliest arrival, epoch ms: the replay's time 0. */
  readonly startMs: number
  readonly endMs: number
  readonly pools: ReadonlyMap<string, PoolObservation>
  /** Requests that never reached the routing. */
  readonly skipped: number
  /** The longest request: how far out of arrival order a line can be. */
  readonly maxDurationMs: number
  /**
   * The mean of `durationMs - upstreamMs` over requests of one attempt: the time beyond the
   * backend's answer (the proxy's, the body's), for requests whose own the log cannot tell.
   */
  readonly meanAfterMs: number
  readonly fitter: BackendFitter
  /** Per down period (same order as given): the last answer its backend gave after `lastUp`. */
  readonly aliveAt: ReadonlyArray<number>
}

export interface TrafficReader {
  readonly add: (request: LoggedRequest) => void
  /** Once, after the last line. */
  readonly summary: () => TrafficSummary
}

interface MutablePool {
  requests: number
  readonly recorder: SampleRecorder
  readonly lastAttempts: Map<string, number>
  retries: number
  readonly clients: Set<string>
}

export const makeTrafficReader = (
  downs: ReadonlyArray<DownPeriod>,
  settings: FitSettings = defaultFitSettings
): TrafficReader => {
  const fitter = makeBackendFitter(settings)
  const pools = new Map<string, MutablePool>()
  const aliveAt = downs.map((period) => period.lastUp)
  let startMs = Number.POSITIVE_INFINITY
  let endMs = Number.NEGATIVE_INFINITY
  let skipped = 0
  let maxDurationMs = 0
  let afterTotal = 0
  let afterCount = 0

  /** Each backend's down periods, by their index in `downs`: a line looks only at its own backend's. */
  const downsOf = new Map<string, Array<number>>()
  downs.forEach((period, index) => downsOf.set(period.backend, [...(downsOf.get(period.backend) ?? []), index]))

  /** The index of a down period of `backend` around `atMs`, or -1. */
  const downAround = (backend: string, atMs: number): number => {
    const indices = downsOf.get(backend)
    if (indices === undefined) return -1
    for (const index of indices) {
      const period = downs[index]
      if (period !== undefined && period.lastUp <= atMs && atMs < period.upAt) return index
    }
    return -1
  }

  const observe = (pool: string, request: LoggedRequest) => {
    let seen = pools.get(pool)
    if (seen === undefined) {
      seen = {
        requests: 0,
        recorder: makeSampleRecorder(1024),
        lastAttempts: new Map(),
        retries: 0,
        clients: new Set()
      }
      pools.set(pool, seen)
    }
    seen.requests++
    seen.recorder.record(request.at, request.durationMs, request.status)
    seen.retries += request.retries
    seen.clients.add(request.client)
    if (request.backend !== undefined) {
      seen.lastAttempts.set(request.backend, (seen.lastAttempts.get(request.backend) ?? 0) + 1)
    }
  }

  return {
    add: (request) => {
      if (!isReplayed(request)) {
        skipped++
        return
      }
      startMs = Math.min(startMs, request.at)
      endMs = Math.max(endMs, request.at)
      maxDurationMs = Math.max(maxDurationMs, request.durationMs)
      observe(poolOfRequest(request), request)
      const after = ownAfterMs(request)
      if (after !== undefined) {
        afterTotal += after
        afterCount++
      }
      const { backend } = request
      if (backend === undefined) return
      const down = downAround(backend, request.at)
      if (request.upstreamMs !== undefined) {
        // An answer: the backend was alive when it sent it.
        if (down >= 0) aliveAt[down] = Math.max(aliveAt[down] ?? 0, request.at + request.durationMs)
        fitter.add(backend, request.at, request.upstreamMs, request.status)
      } else if (down < 0) {
        // A failure while it was up: a reset or a timeout of its own; while down, the script has it.
        fitter.add(backend, request.at, undefined, request.status)
      }
    },
    summary: () => {
      const start = Number.isFinite(startMs) ? startMs : 0
      // Arrivals were recorded before the first was known: made relative to it now, once.
      for (const pool of pools.values()) {
        const { arrivedAt } = pool.recorder.samples()
        for (let i = 0; i < arrivedAt.length; i++) arrivedAt[i] = (arrivedAt[i] ?? start) - start
      }
      return {
        startMs: start,
        endMs: Number.isFinite(endMs) ? endMs : 0,
        pools: new Map(Array.from(pools, ([name, pool]) => [name, { ...pool, clients: pool.clients.size }])),
        skipped,
        maxDurationMs,
        meanAfterMs: afterCount === 0 ? 0 : afterTotal / afterCount,
        fitter,
        aliveAt
      }
    }
  }
}
