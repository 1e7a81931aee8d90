/**
 * What `switchyard simulate --traffic` tells: the lab's report (`Report.ts`), whose first
 * "strategy" is what the log observed, the second the replay of the config that ran, then the
 * alternatives; with the calibration of the second against the first, and what the replay read.
 * Being a `SimulationReport`, the chart draws it as it draws a scenario's.
 */
import type { BackendEvent } from "../../BackendEvent.ts"
import { buildStrategyReport, describeChange, describeLatency } from "../Report.ts"
import type { SimulationReport, StrategyRunResult } from "../Report.ts"
import type { Calibration } from "./Calibration.ts"
import { calibrate } from "./Calibration.ts"
import type { ModelledBackend } from "./ReplayModel.ts"
import type { PoolObservation, TrafficSummary } from "./TrafficLog.ts"

export interface ReplaySummary {
  readonly traffic: string
  readonly journal: string | null
  /** The config file, or what stood in for it. */
  readonly config: string
  readonly pool: string
  readonly requests: number
  /** Requests that never reached the routing (cache hits, refusals). */
  readonly skipped: number
  /** Requests of pools not replayed. */
  readonly otherPools: ReadonlyArray<{ readonly pool: string; readonly requests: number }>
  readonly windowMs: number
  /** Backends of the config that the log never shows answering. */
  readonly unseen: ReadonlyArray<string>
}

export interface ReplayReport extends SimulationReport {
  readonly replay: ReplaySummary
  readonly calibration: Calibration
}

/** The name of the run of the config that actually ran. */
export const ranLabel = (strategy: string): string => `${strategy} (ran)`

export const observedLabel = "observed"

/** Times of journaled events made relative to the replay's start, as the lab's are. */
const shifted = (event: BackendEvent, startMs: number): BackendEvent =>
  event._tag === "CircuitOpened"
    ? { ...event, at: event.at - startMs, until: event.until - startMs }
    : { ...event, at: event.at - startMs }

/** What the log observed, as a run: its requests, their last attempts' backends, its retries. */
const observedRun = (
  observed: PoolObservation,
  names: ReadonlyArray<string>,
  transitions: ReadonlyArray<BackendEvent>,
  startMs: number
): StrategyRunResult => ({
  strategy: observedLabel,
  results: {
    recorder: observed.recorder,
    backends: names.map((name) => ({ name, attempts: observed.lastAttempts.get(name) ?? 0, peakInFlight: 0 })),
    retries: observed.retries,
    replays: 0
  },
  transitions: transitions.map((event) => shifted(event, startMs))
})

export const buildReplayReport = (input: {
  readonly summary: ReplaySummary
  readonly traffic: TrafficSummary
  readonly observed: PoolObservation
  readonly backends: ReadonlyArray<ModelledBackend>
  readonly weights: ReadonlyMap<string, number>
  readonly journalTransitions: ReadonlyArray<BackendEvent>
  /** The config that ran first, then the alternatives. */
  readonly runs: ReadonlyArray<StrategyRunResult>
  readonly seed: number
}): ReplayReport => {
  const { traffic } = input
  const durationMs = Math.max(1, traffic.endMs - traffic.startMs)
  const seconds = Math.max(1, Math.ceil(durationMs / 1000))
  const names = input.backends.map((modelled) => modelled.backend.name)
  const observed = buildStrategyReport(
    observedRun(input.observed, names, input.journalTransitions, traffic.startMs),
    seconds
  )
  const runs = input.runs.map((run) => buildStrategyReport(run, seconds))
  const ran = runs[0]
  return {
    scenario: {
      file: input.summary.traffic,
      description: `replay of ${input.observed.requests} logged requests of pool ${input.summary.pool}`,
      durationMs,
      ratePerSecond: Math.round((input.observed.requests / (durationMs / 1000)) * 100) / 100,
      arrivals: "logged",
      clients: input.observed.clients,
      postPercent: 0,
      hotClientPercent: 0,
      backends: input.backends.map((modelled) => ({
        name: modelled.backend.name,
        weight: input.weights.get(modelled.backend.name) ?? 1,
        latency: describeLatency(modelled.overall),
        errorPercent: Math.round(10_000 * modelled.errorFraction) / 100,
        resetPercent: Math.round(10_000 * modelled.resetFraction) / 100,
        overloadPercent: 0,
        retryAfterMs: null,
        capacity: null,
        maxConnections: null,
        changes: modelled.downs.map((change) => ({ atMs: change.atMs, what: describeChange(change) }))
      }))
    },
    seed: input.seed,
    strategies: [observed, ...runs],
    replay: input.summary,
    calibration: calibrate(observed, ran ?? observed)
  }
}
