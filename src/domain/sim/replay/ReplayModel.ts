/**
 * The replay's simulated backends: each one's fitted windows (`BackendFit`) as the lab's model,
 * a change of latency and error shares per window, with its down periods from the journal
 * (`JournalScript`) laid over them. Times are ms after the log's first arrival.
 *
 * A backend of the config that the log never shows answering (it took no traffic) gets the
 * pool's latency: every answer of every backend, pooled, the best guess there is.
 */
import type { BackendChange, SimulatedBackend } from "../BackendModel.ts"
import type { Latency } from "../Distributions.ts"
import type { FittedBackend, FittedWindow } from "./BackendFit.ts"
import { quantilePoints } from "./BackendFit.ts"
import type { DownPeriod } from "./JournalScript.ts"
import { downChanges } from "./JournalScript.ts"

export interface ModelledBackend {
  readonly backend: SimulatedBackend
  /** Answers the fit saw; 0 when it borrowed the pool's latency. */
  readonly answers: number
  /** All its windows pooled: how it answered over the whole log. */
  readonly overall: Latency
  /** Of all its answers, the 5xx and those without a response (outside its down periods). */
  readonly errorFraction: number
  readonly resetFraction: number
  /** Its down periods, as changes (for the report). */
  readonly downs: ReadonlyArray<BackendChange>
}

const empirical = (points: Float64Array): Latency => ({ _tag: "Empirical", points })

/** Every window's points of every backend, weighted by answers, as one distribution. */
const pooledLatency = (fitted: ReadonlyArray<FittedBackend>, points: number): Latency => {
  const values: Array<number> = []
  for (const backend of fitted) {
    for (const window of backend.windows) {
      const step = Math.max(1, Math.round(window.answers / Math.max(1, window.latency.length)))
      for (const value of window.latency) for (let i = 0; i < step; i++) values.push(value)
    }
  }
  return values.length === 0
    ? { _tag: "Fixed", ms: 0 }
    : empirical(quantilePoints(values.sort((a, b) => a - b), points))
}

const windowChange = (window: FittedWindow, startMs: number): BackendChange => ({
  atMs: Math.max(0, window.startMs - startMs),
  latency: empirical(window.latency),
  errorFraction: window.errorFraction,
  resetFraction: window.resetFraction
})

export const modelBackends = (input: {
  /** The config's backends of the replayed pool, in its order. */
  readonly names: ReadonlyArray<string>
  readonly fitted: ReadonlyArray<FittedBackend>
  readonly downs: ReadonlyArray<DownPeriod>
  /** Per down period, the last answer its backend gave (`TrafficSummary.aliveAt`). */
  readonly aliveAt: ReadonlyArray<number>
  readonly startMs: number
  readonly points: number
}): ReadonlyArray<ModelledBackend> => {
  const byName = new Map(input.fitted.map((backend) => [backend.name, backend]))
  const pooled = pooledLatency(input.fitted, input.points)
  return input.names.map((name) => {
    const fit = byName.get(name)
    const windows = fit?.windows ?? []
    const first = windows[0]
    const downs = input.downs.flatMap((period, i) =>
      period.backend === name ? downChanges(period, input.aliveAt[i] ?? period.lastUp, input.startMs) : []
    )
    const answers = windows.reduce((sum, window) => sum + window.answers, 0)
    const changes = [...windows.slice(1).map((window) => windowChange(window, input.startMs)), ...downs]
      .sort((a, b) => a.atMs - b.atMs)
    return {
      backend: {
        name,
        latency: first === undefined ? pooled : empirical(first.latency),
        errorFraction: first?.errorFraction ?? 0,
        resetFraction: first?.resetFraction ?? 0,
        overloadFraction: 0,
        retryAfterMs: 0,
        capacity: undefined,
        changes
      },
      answers,
      errorFraction: answers === 0 ? 0 : windows.reduce((sum, w) => sum + w.errorFraction * w.answers, 0) / answers,
      resetFraction: answers === 0 ? 0 : windows.reduce((sum, w) => sum + w.resetFraction * w.answers, 0) / answers,
      overall: fit === undefined || windows.length === 0 ? pooled : pooledLatency([fit], input.points),
      downs
    }
  })
}
