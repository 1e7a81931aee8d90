/**
 * One point of the trend buffer: every backend's load, counters and latency at a moment. The
 * dashboard draws throughput from the differences of `requests` between samples.
 */
import type { BackendState } from "../BackendState.ts"

export type CircuitName = "closed" | "open" | "half-open"

export const circuitName = (state: BackendState): CircuitName =>
  state.circuit._tag === "Closed" ? "closed" : state.circuit._tag === "Open" ? "open" : "half-open"

export interface BackendSample {
  readonly inFlight: number
  readonly requests: number
  readonly failures: number
  readonly retries: number
  /** Time-weighted average latency as of the sample; `null` until measured. */
  readonly ewmaLatencyMs: number | null
  readonly healthy: boolean
  readonly circuit: CircuitName
}

export interface HistorySample {
  /** Epoch ms. */
  readonly at: number
  readonly backends: Readonly<Record<string, BackendSample>>
}

export const sampleOf = (states: ReadonlyArray<BackendState>, at: number): HistorySample => {
  const backends: Record<string, BackendSample> = {}
  for (const state of states) {
    backends[state.spec.name] = {
      inFlight: state.inFlight,
      requests: state.requests,
      failures: state.failures,
      retries: state.retries,
      ewmaLatencyMs: state.latency === undefined
        ? null
        : Math.round(state.latency.value * 1000) / 1000,
      healthy: state.healthy,
      circuit: circuitName(state)
    }
  }
  return { at, backends }
}
