/**
 * One point of the trend buffer: every backend's load, counters and latency at a moment. The
 * dashboard draws throughput from the differences of `requests` between samples, and rates by
 * status class from those of `responses`.
 */
import type { BackendState } from "../BackendState.ts"
import { noResponses } from "./Traffic.ts"
import type { StatusCounts } from "./Traffic.ts"

export type CircuitName = "closed" | "open" | "half-open"

export const circuitName = (state: BackendState): CircuitName =>
  state.circuit._tag === "Closed" ? "closed" : state.circuit._tag === "Open" ? "open" : "half-open"

export interface BackendSample {
  readonly inFlight: number
  readonly requests: number
  readonly failures: number
  readonly retries: number
  /** Client requests it answered since start-up, by status class (`lb_requests_total`). */
  readonly responses: StatusCounts
  /** Time-weighted average latency as of the sample; `null` until measured. */
  readonly ewmaLatencyMs: number | null
  readonly healthy: boolean
  readonly circuit: CircuitName
}

export interface HistorySample {
  /** Epoch ms. */
  readonly at: number
  readonly backends: Readonly<Record<string, BackendSample>>
  /**
   * Per backend label, its `lb_request_duration_seconds` observations per bucket since start-up:
   * the difference between two samples is the histogram of the time between them. Kept for the
   * recent quantiles, not sent with the samples (a poll would carry it for every sample).
   */
  readonly latencyBuckets: Readonly<Record<string, ReadonlyArray<number>>>
}

export const sampleOf = (
  states: ReadonlyArray<BackendState>,
  at: number,
  traffic: Pick<HistorySample, "latencyBuckets"> & { readonly responses: ReadonlyMap<string, StatusCounts> }
): HistorySample => {
  const backends: Record<string, BackendSample> = {}
  for (const state of states) {
    backends[state.spec.name] = {
      inFlight: state.inFlight,
      requests: state.requests,
      failures: state.failures,
      retries: state.retries,
      responses: traffic.responses.get(state.spec.name) ?? noResponses,
      ewmaLatencyMs: state.latency === undefined
        ? null
        : Math.round(state.latency.value * 1000) / 1000,
      healthy: state.healthy,
      circuit: circuitName(state)
    }
  }
  return { at, backends, latencyBuckets: traffic.latencyBuckets }
}
