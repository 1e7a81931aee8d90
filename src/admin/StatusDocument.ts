/**
 * The `/status` document: what a person or a script checks first. Built from plain state so it
 * can be tested without a server.
 */
import { isAvailable } from "../domain/Availability.ts"
import { poolOf } from "../domain/Backend.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { Circuit } from "../domain/breaker/Circuit.ts"
import { standingEjections } from "../domain/breaker/Ejection.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { proxyLatencyBoundaries } from "../domain/metrics/Histogram.ts"
import type { BackendSample, HistorySample } from "../domain/metrics/Sample.ts"
import { noResponses, recentWindow, trafficBetween } from "../domain/metrics/Traffic.ts"
import type { RecentTraffic, TrafficReading } from "../domain/metrics/Traffic.ts"
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

/** A backend as `/status` lists it, with its traffic over the recent window (`null` before it). */
export interface BackendRow extends BackendStatus {
  readonly recent: RecentTraffic | null
}

/** A pool as configured now (a reload may have changed it since start-up) and its members. */
export interface PoolStatus {
  readonly name: string
  readonly strategy: string
  /** Its backends (DNS-discovered addresses included, removed ones not). */
  readonly backends: ReadonlyArray<string>
  readonly available: number
}

/** A route of the config in force: requests it matches go to `pool`; any other, to `default`. */
export interface RouteStatus {
  readonly host: string | null
  readonly pathPrefix: string | null
  readonly pool: string
}

export interface StatusDocument {
  readonly version: string
  readonly uptimeSeconds: number
  /** The default pool's strategy in force. */
  readonly strategy: string
  /** Every pool, the default one first. */
  readonly pools: ReadonlyArray<PoolStatus>
  /** In the order written; the longest matching prefix wins. */
  readonly routes: ReadonlyArray<RouteStatus>
  readonly backends: {
    readonly total: number
    readonly available: number
    readonly list: ReadonlyArray<BackendRow>
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

const readingOf = (sample: HistorySample, backend: string): TrafficReading => ({
  responses: sample.backends[backend]?.responses ?? noResponses,
  latencyBuckets: sample.latencyBuckets[backend]
})

/** Each backend's traffic between the trend buffer's newest sample and the one a window before. */
export const recentTraffic = (samples: ReadonlyArray<HistorySample>): ReadonlyMap<string, RecentTraffic> => {
  const recent = new Map<string, RecentTraffic>()
  const window = recentWindow(samples)
  if (window === undefined) return recent
  const { newer, older } = window
  const seconds = (newer.at - older.at) / 1000
  for (const backend of Object.keys(newer.backends)) {
    recent.set(
      backend,
      trafficBetween(proxyLatencyBoundaries, seconds, readingOf(older, backend), readingOf(newer, backend))
    )
  }
  return recent
}

export const statusDocument = (facts: {
  readonly version: string
  readonly uptimeSeconds: number
  readonly strategy: string
  readonly pools: ReadonlyArray<{ readonly name: string; readonly strategy: string }>
  /** The config's `routes`, as written. */
  readonly routes: Config["routes"]
  readonly backends: ReadonlyArray<BackendState>
  readonly recent: ReadonlyMap<string, RecentTraffic>
  readonly workers: ReadonlyArray<WorkerStatus>
  /** Epoch ms: the moment of the answer, which standing ejections are counted at. */
  readonly now: number
}): StatusDocument => {
  const list = facts.backends.map((state): BackendRow => ({
    ...backendStatus(state, facts.now),
    recent: facts.recent.get(state.spec.name) ?? null
  }))
  const members = list.filter((backend) => !backend.removed)
  return {
    version: facts.version,
    uptimeSeconds: Math.floor(facts.uptimeSeconds),
    strategy: facts.strategy,
    pools: facts.pools.map(({ name, strategy }) => {
      const inPool = members.filter((backend) => backend.pool === name)
      return {
        name,
        strategy,
        backends: inPool.map((backend) => backend.name),
        available: inPool.filter((backend) => backend.available).length
      }
    }),
    routes: (facts.routes ?? []).map(({ match, pool }) => ({
      host: match.host ?? null,
      pathPrefix: match.pathPrefix ?? null,
      pool
    })),
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
