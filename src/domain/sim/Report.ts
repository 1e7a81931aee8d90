/**
 * What `switchyard simulate` tells: per strategy, the latency clients saw (p50/p90/p99/max, from
 * arrival to answer, retries included), the share that failed, the retries made, each backend's
 * share of the attempts and its peak in-flight, the health and circuit transitions, and the
 * same latencies second by second (for the chart). Built once from the runs, as plain data; the
 * lab draws it (`lab/ReportText.ts`: a table for people, JSON for tools; `lab/Chart.ts`). Numbers
 * are rounded here, once, so every rendering agrees.
 */
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendChange } from "./BackendModel.ts"
import type { Latency } from "./Distributions.ts"
import { interpolate, z99 } from "./Distributions.ts"
import type { LabResults } from "./Lab.ts"
import { percentile } from "./Percentiles.ts"
import type { Scenario } from "./ScenarioLoader.ts"

export interface LatencySummary {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

export interface BackendShare {
  readonly name: string
  readonly attempts: number
  /** Of all attempts, retries included. */
  readonly sharePercent: number
  readonly peakInFlight: number
}

export interface Transition {
  /** Simulated ms since the start. */
  readonly at: number
  readonly backend: string
  readonly what: string
}

export interface Second {
  readonly second: number
  readonly requests: number
  readonly p50: number
  readonly p99: number
  readonly errorPercent: number
}

export interface StrategyReport {
  readonly strategy: string
  readonly requests: number
  readonly latencyMs: LatencySummary
  /** Requests answered with a 5xx, whoever produced it (the backend, or the proxy giving up). */
  readonly errors: number
  readonly errorPercent: number
  /** Requests by the status they got. */
  readonly statuses: Readonly<Record<string, number>>
  readonly retries: number
  /** Attempts sent again to the same backend after a reset connection (as the proxy does). */
  readonly replays: number
  readonly backends: ReadonlyArray<BackendShare>
  readonly transitions: ReadonlyArray<Transition>
  /** By the second the requests arrived in. */
  readonly perSecond: ReadonlyArray<Second>
}

export interface ScenarioSummary {
  readonly file: string
  readonly description: string | undefined
  readonly durationMs: number
  readonly ratePerSecond: number
  readonly arrivals: string
  readonly clients: number
  readonly postPercent: number
  readonly hotClientPercent: number
  readonly backends: ReadonlyArray<{
    readonly name: string
    readonly weight: number
    readonly latency: string
    readonly errorPercent: number
    readonly resetPercent: number
    readonly overloadPercent: number
    /** The `Retry-After` of its overloaded answers; `null` when it never sheds load. */
    readonly retryAfterMs: number | null
    readonly capacity: number | null
    readonly maxConnections: number | null
    readonly changes: ReadonlyArray<{ readonly atMs: number; readonly what: string }>
  }>
}

export interface SimulationReport {
  readonly scenario: ScenarioSummary
  readonly seed: number
  readonly strategies: ReadonlyArray<StrategyReport>
}

export interface StrategyRunResult {
  readonly strategy: string
  readonly results: LabResults
  readonly transitions: ReadonlyArray<BackendEvent>
}

const round = (value: number, digits = 2): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

const percentOf = (part: number, whole: number): number => whole === 0 ? 0 : round((100 * part) / whole)

/** A duration as the scenario file would write it: `250ms`, `1.5ms`, `2s`. */
export const formatMs = (ms: number): string => {
  const rounded = round(ms, 3)
  return rounded >= 1000 && rounded % 1000 === 0 ? `${rounded / 1000}s` : `${rounded}ms`
}

export const describeLatency = (latency: Latency): string => {
  switch (latency._tag) {
    case "Fixed":
      return `fixed ${formatMs(latency.ms)}`
    case "Uniform":
      return `uniform ${formatMs(latency.minMs)}-${formatMs(latency.maxMs)}`
    case "Lognormal":
      return `lognormal median ${formatMs(Math.exp(latency.mu))} p99 ${
        formatMs(Math.exp(latency.mu + z99 * latency.sigma))
      }`
    case "Bimodal":
      return `bimodal ${round(100 * (1 - latency.slowFraction))}% ${describeLatency(latency.fast)}, ${
        round(100 * latency.slowFraction)
      }% ${describeLatency(latency.slow)}`
    case "Empirical":
      return `observed median ${formatMs(interpolate(latency.points, 0.5))} p99 ${
        formatMs(interpolate(latency.points, 0.99))
      }`
  }
}

/** What a change does: "5x slower", "down", "up, normal speed". */
export const describeChange = (change: BackendChange): string => {
  const parts = [
    change.slowdown === undefined ? undefined : change.slowdown === 1 ? "normal speed" : `${change.slowdown}x slower`,
    change.errorFraction === undefined ? undefined : `${round(100 * change.errorFraction)}% errors`,
    change.resetFraction === undefined ? undefined : `${round(100 * change.resetFraction)}% resets`,
    change.overloadFraction === undefined ? undefined : `${round(100 * change.overloadFraction)}% overloaded`,
    change.down === undefined ? undefined : change.down ? "down" : "up",
    change.latency === undefined ? undefined : `latency ${describeLatency(change.latency)}`
  ].filter((part) => part !== undefined)
  return parts.join(", ")
}

const describeTransition = (event: BackendEvent): string | undefined => {
  switch (event._tag) {
    case "HealthChanged":
      return event.healthy ? `healthy: ${event.reason}` : `unhealthy: ${event.reason}`
    case "CircuitOpened":
      return `circuit opened until ${(event.until / 1000).toFixed(3)}s (trip ${event.trips}): ${event.reason}`
    case "CircuitHalfOpened":
      return "circuit half-open"
    case "CircuitClosed":
      return "circuit closed"
    case "EjectionDeclined":
      return `ejection declined: ${event.reason}`
    default:
      return undefined
  }
}

const summarise = (sorted: Float64Array): LatencySummary => ({
  p50: round(percentile(sorted, 50)),
  p90: round(percentile(sorted, 90)),
  p99: round(percentile(sorted, 99)),
  max: round(percentile(sorted, 100))
})

/** Latencies grouped by arrival second (a counting sort), each second's group then sorted. */
const perSecond = (results: LabResults, seconds: number): ReadonlyArray<Second> => {
  const { arrivedAt, count, latency, status } = results.recorder.samples()
  const secondOf = (i: number) => Math.min(seconds - 1, Math.floor((arrivedAt[i] ?? 0) / 1000))
  const counts = new Uint32Array(seconds)
  const errors = new Uint32Array(seconds)
  for (let i = 0; i < count; i++) {
    const second = secondOf(i)
    counts[second] = (counts[second] ?? 0) + 1
    if ((status[i] ?? 0) >= 500) errors[second] = (errors[second] ?? 0) + 1
  }
  const starts = new Uint32Array(seconds + 1)
  for (let s = 0; s < seconds; s++) starts[s + 1] = (starts[s] ?? 0) + (counts[s] ?? 0)
  const filled = new Uint32Array(seconds)
  const grouped = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const second = secondOf(i)
    grouped[(starts[second] ?? 0) + (filled[second] ?? 0)] = latency[i] ?? 0
    filled[second] = (filled[second] ?? 0) + 1
  }
  return Array.from({ length: seconds }, (_, second) => {
    const group = grouped.subarray(starts[second] ?? 0, starts[second + 1] ?? 0).sort()
    return {
      second,
      requests: group.length,
      p50: round(percentile(group, 50)),
      p99: round(percentile(group, 99)),
      errorPercent: percentOf(errors[second] ?? 0, group.length)
    }
  })
}

export const buildStrategyReport = (run: StrategyRunResult, seconds: number): StrategyReport => {
  const { results } = run
  const samples = results.recorder.samples()
  const sorted = Float64Array.from(samples.latency).sort()
  const statuses = new Map<number, number>()
  let errors = 0
  for (let i = 0; i < samples.count; i++) {
    const status = samples.status[i] ?? 0
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    if (status >= 500) errors++
  }
  const attempts = results.backends.reduce((sum, backend) => sum + backend.attempts, 0)
  return {
    strategy: run.strategy,
    requests: samples.count,
    latencyMs: summarise(sorted),
    errors,
    errorPercent: percentOf(errors, samples.count),
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n])),
    retries: results.retries,
    replays: results.replays,
    backends: results.backends.map((backend) => ({
      name: backend.name,
      attempts: backend.attempts,
      sharePercent: percentOf(backend.attempts, attempts),
      peakInFlight: backend.peakInFlight
    })),
    transitions: run.transitions.flatMap((event) => {
      const what = describeTransition(event)
      return what === undefined || !("backend" in event)
        ? []
        : [{ at: round(event.at, 3), backend: event.backend, what }]
    }),
    perSecond: perSecond(results, seconds)
  }
}

export const buildReport = (input: {
  readonly file: string
  readonly scenario: Scenario
  readonly seed: number
  readonly runs: ReadonlyArray<StrategyRunResult>
}): SimulationReport => {
  const { scenario } = input
  const seconds = Math.max(1, Math.ceil(scenario.traffic.durationMs / 1000))
  const specs = new Map(scenario.config.backends.map((spec) => [spec.name, spec]))
  return {
    scenario: {
      file: input.file,
      description: scenario.description,
      durationMs: scenario.traffic.durationMs,
      ratePerSecond: scenario.traffic.ratePerSecond,
      arrivals: scenario.traffic.arrivals,
      clients: scenario.traffic.clients,
      postPercent: round(100 * scenario.traffic.postFraction),
      hotClientPercent: round(100 * scenario.traffic.hotClientFraction),
      backends: scenario.backends.map((backend) => ({
        name: backend.name,
        weight: specs.get(backend.name)?.weight ?? 1,
        latency: describeLatency(backend.latency),
        errorPercent: round(100 * backend.errorFraction),
        resetPercent: round(100 * backend.resetFraction),
        overloadPercent: round(100 * backend.overloadFraction),
        retryAfterMs:
          backend.overloadFraction > 0 || backend.changes.some((change) => (change.overloadFraction ?? 0) > 0)
            ? backend.retryAfterMs
            : null,
        capacity: backend.capacity ?? null,
        maxConnections: specs.get(backend.name)?.maxConnections ?? null,
        changes: backend.changes.map((change) => ({ atMs: change.atMs, what: describeChange(change) }))
      }))
    },
    seed: input.seed,
    strategies: input.runs.map((run) => buildStrategyReport(run, seconds))
  }
}
