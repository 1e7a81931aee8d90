/**
 * The tunables that decide how a backend's state moves: health thresholds, breaker limits and
 * latency decay. They travel in `BackendAdded`, so a journal carries everything needed to fold
 * the events that follow it, and a reload that changes them is just another `BackendAdded`.
 */
import { Schema } from "effect"

/** How a backend is probed; absent when its pool has no `healthCheck`. */
export const ProbeSettings = Schema.Struct({
  path: Schema.String,
  intervalMs: Schema.Number,
  timeoutMs: Schema.Number
})
export type ProbeSettings = typeof ProbeSettings.Type

export const BackendPolicy = Schema.Struct({
  /** Active health checks for this backend, from its pool's `healthCheck` section. */
  probe: Schema.optionalKey(ProbeSettings),
  /** Consecutive successful probes that bring an unhealthy backend back. */
  healthyThreshold: Schema.Int,
  /** Consecutive failed probes that take a healthy backend out. */
  unhealthyThreshold: Schema.Int,
  /** Consecutive failed requests that open the circuit. */
  failureThreshold: Schema.Int,
  /** How long the circuit stays open before trial requests; doubled on each re-trip, up to 8x. */
  resetTimeoutMs: Schema.Number,
  /** Trial requests admitted at once while half-open, and successes needed to close. */
  halfOpenRequests: Schema.Int,
  /** The time constant of the latency estimates (`load/Ewma.ts`). */
  ewmaDecayMs: Schema.Number
})
export type BackendPolicy = typeof BackendPolicy.Type

/** The contract's defaults; the config decoder fills the same values. */
export const defaultPolicy: BackendPolicy = {
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  failureThreshold: 5,
  resetTimeoutMs: 30_000,
  halfOpenRequests: 1,
  ewmaDecayMs: 10_000
}
