/**
 * The `/status` document: what a person or a script checks first. Built from plain state so it
 * can be tested without a server.
 */
import { isAvailable } from "../domain/Availability.ts"
import { poolOf } from "../domain/Backend.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { Circuit } from "../domain/breaker/Circuit.ts"
import { standingEjections } from "../domain/breaker/Ejection.ts"
import type { BackendSample, HistorySample } from "../domain/metrics/Sample.ts"
import type { WorkerStatus } from "../services/WorkerPool.ts"

export interface CircuitStatus {
  readonly state: "closed" | "open" | "half-open"
  /** Why it opened (open only). */
  readonly reason: string | null
  /** When trial requests may begin (open only). */
  readonly until: string | null
}

export interface BackendStatus {
  readonly name: string
  readonly pool: string
  readonly url: string
  readonly weight: number
  /** Slow start: the share of `weight` it has now (100 once warm). */
  readonly weightPercent: number
  readonly maxConnections: number | null
  readonly available: boolean
  /** Removed: finishing its requests in flight, then forgotten. */
  readonly removed: boolean
  /** Drained (admin API): takes no new requests until undrained or the file is reloaded. */
  readonly draining: boolean
  readonly healthy: boolean
  readonly circuit: CircuitStatus
  /** Outlier ejections still charged to it (`outlierDetection`): the next lasts one more base time. */
  readonly ejections: number
  readonly inFlight: number
  readonly requests: number
  readonly failures: number
  readonly retries: number
  readonly lastLatencyMs: number | null
  /** The time-weighted average latency as of now, in ms (`null` until measured). */
  readonly ewmaLatencyMs: number | null
  readonly lastRequestAt: string | null
}

/** A pool and the strategy it picks by now (a reload may have changed it since start-up). */
export interface PoolStatus {
  readonly name: string
  readonly strategy: string
}

export interface StatusDocument {
  readonly version: string
  readonly uptimeSeconds: number
  /** The default pool's strategy in force. */
  readonly strategy: string
  /** Every pool, the default one first. */
  readonly pools: ReadonlyArray<PoolStatus>
  readonly backends: {
    readonly total: number
    readonly available: number
    readonly list: ReadonlyArray<BackendStatus>
  }
  /** With `workers` above 1, each worker process; empty when this one process serves. */
  readonly workers: ReadonlyArray<WorkerStatus>
}

const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000

const circuitStatus = (circuit: Circuit): CircuitStatus => {
  switch (circuit._tag) {
    case "Closed":
      return { state: "closed", reason: null, until: null }
    case "Open":
      return { state: "open", reason: circuit.reason, until: new Date(circuit.until).toISOString() }
    case "HalfOpen":
      return { state: "half-open", reason: null, until: null }
  }
}

export const backendStatus = (state: BackendState, now: number): BackendStatus => ({
  name: state.spec.name,
  pool: poolOf(state.spec),
  url: state.spec.url,
  weight: state.spec.weight,
  weightPercent: state.weightPercent,
  maxConnections: state.spec.maxConnections ?? null,
  available: isAvailable(state),
  removed: state.removed,
  draining: state.draining,
  healthy: state.healthy,
  circuit: circuitStatus(state.circuit),
  ejections: state.policy.ejection === undefined ? 0 : standingEjections(state, now, state.policy.ejection),
  inFlight: state.inFlight,
  requests: state.requests,
  failures: state.failures,
  retries: state.retries,
  lastLatencyMs: state.lastLatencyMs === undefined ? null : roundMs(state.lastLatencyMs),
  ewmaLatencyMs: state.latency === undefined ? null : roundMs(state.latency.value),
  lastRequestAt: state.lastRequestAt === undefined ? null : new Date(state.lastRequestAt).toISOString()
})

export const statusDocument = (facts: {
  readonly version: string
  readonly uptimeSeconds: number
  readonly strategy: string
  readonly pools: ReadonlyArray<PoolStatus>
  readonly backends: ReadonlyArray<BackendState>
  readonly workers: ReadonlyArray<WorkerStatus>
  /** Epoch ms: the moment of the answer, which standing ejections are counted at. */
  readonly now: number
}): StatusDocument => {
  const list = facts.backends.map((state) => backendStatus(state, facts.now))
  return {
    version: facts.version,
    uptimeSeconds: Math.floor(facts.uptimeSeconds),
    strategy: facts.strategy,
    pools: facts.pools.map(({ name, strategy }) => ({ name, strategy })),
    backends: { total: list.length, available: list.filter((b) => b.available).length, list },
    workers: facts.workers
  }
}

/** `/metrics` as JSON: the status document plus the trend buffer. */
export interface MetricsDocument extends StatusDocument {
  readonly history: {
    readonly intervalSeconds: number
    readonly size: number
    readonly samples: ReadonlyArray<{ readonly at: string; readonly backends: Readonly<Record<string, BackendSample>> }>
  }
}

export const metricsDocument = (
  status: StatusDocument,
  history: { readonly intervalSeconds: number; readonly size: number; readonly samples: ReadonlyArray<HistorySample> }
): MetricsDocument => ({
  ...status,
  history: {
    intervalSeconds: history.intervalSeconds,
    size: history.size,
    samples: history.samples.map((sample) => ({ at: new Date(sample.at).toISOString(), backends: sample.backends }))
  }
})
