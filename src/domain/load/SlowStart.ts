/**
 * Slow start (Envoy's `slow_start_config`, HAProxy's `slowstart`): a backend that joins or comes
 * back into rotation is cold (empty caches, a JIT not yet warm, a connection pool to fill), so
 * its weight ramps from `minWeightPercent` to full over `windowMs` instead of taking its whole
 * share at once:
 *
 *   percent(t) = max(minWeightPercent, 100 · (t / window)^(1 / aggression)),  100 from t = window
 *
 * `aggression` 1 is a straight line; above 1 the weight rises fast first and slowly later (Envoy's
 * curve). The ramp moves in steps, each a `WarmupProgressed` event from a timer, so the weight is
 * part of the event stream and selectors rebuild their tables per step, never per request.
 */
import type { SlowStartSettings } from "../BackendPolicy.ts"

export const rampPercent = (elapsedMs: number, slowStart: SlowStartSettings): number => {
  if (elapsedMs >= slowStart.windowMs) return 100
  const fraction = Math.max(0, elapsedMs) / slowStart.windowMs
  return Math.min(100, Math.max(slowStart.minWeightPercent, 100 * fraction ** (1 / slowStart.aggression)))
}

export interface RampStep {
  /** Milliseconds after the backend came back. */
  readonly afterMs: number
  readonly percent: number
}

/** Steps of at least a second, at most 20 of them; the last lands on the window's end at 100 %. */
export const rampSteps = (slowStart: SlowStartSettings): ReadonlyArray<RampStep> => {
  const count = Math.min(20, Math.max(1, Math.floor(slowStart.windowMs / 1_000)))
  return Array.from({ length: count }, (_, i) => {
    const afterMs = ((i + 1) * slowStart.windowMs) / count
    return { afterMs, percent: rampPercent(afterMs, slowStart) }
  })
}
