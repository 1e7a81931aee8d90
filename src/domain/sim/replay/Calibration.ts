/**
 * Calibration: the replay of the config that actually ran, next to what the log observed. Only
 * if they agree do the alternatives' numbers mean something, so the report opens with it, and
 * says when the replay's p99 is off by more than a quarter, and what may be why.
 *
 * Latency differences are relative (percent of the observed value); errors and shares, already
 * percentages, differ in points; retries relatively.
 */
import type { StrategyReport } from "../Report.ts"

/** Off by more than this share of the observed p99, the replay says so. */
export const p99Tolerance = 0.25

export interface Compared {
  readonly observed: number
  readonly replayed: number
  /** `replayed - observed`, as a percent of `observed` (or in points, for percentages). */
  readonly difference: number
}

export interface Calibration {
  readonly p50Ms: Compared
  readonly p99Ms: Compared
  readonly errorPercent: Compared
  readonly retries: Compared
  /** Per backend, the share of attempts (observed: of last attempts, the only ones logged). */
  readonly sharePercent: ReadonlyArray<Compared & { readonly backend: string }>
  /** More than `p99Tolerance` apart. */
  readonly p99Off: boolean
  /** Why it may be off, when it is. */
  readonly reasons: ReadonlyArray<string>
}

const round = (value: number, digits = 1): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

const relative = (observed: number, replayed: number): Compared => ({
  observed,
  replayed,
  difference: observed === 0 ? (replayed === 0 ? 0 : 100) : round((100 * (replayed - observed)) / observed)
})

const points = (observed: number, replayed: number): Compared => ({
  observed,
  replayed,
  difference: round(replayed - observed, 2)
})

const slowerReasons = [
  "the log shows only each request's last attempt: failed attempts before it, and what they cost, are guessed",
  "down periods come from the journal's probes, so they are known to a probe interval: more or fewer requests met a dead backend"
]

const fasterReasons = [
  "the replay's backends answer as the log shows at any load: if they queued near capacity, that wait is in the log but does not grow or shrink with the routing (capacity is beyond what latency shows)",
  "the time beyond a backend's answer (the proxy's own, the body's) is taken from the log per request, but a retried request's is only the average"
]

export const calibrate = (observed: StrategyReport, replayed: StrategyReport): Calibration => {
  const p99Ms = relative(observed.latencyMs.p99, replayed.latencyMs.p99)
  const p99Off = Math.abs(p99Ms.difference) > 100 * p99Tolerance
  const sharePercent = replayed.backends.map((backend) => ({
    backend: backend.name,
    ...points(observed.backends.find((seen) => seen.name === backend.name)?.sharePercent ?? 0, backend.sharePercent)
  }))
  return {
    p50Ms: relative(observed.latencyMs.p50, replayed.latencyMs.p50),
    p99Ms,
    errorPercent: points(observed.errorPercent, replayed.errorPercent),
    retries: relative(observed.retries, replayed.retries),
    sharePercent,
    p99Off,
    reasons: !p99Off ? [] : p99Ms.difference > 0 ? slowerReasons : fasterReasons
  }
}
