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
  timeoutMs: Schema.Number,
  /** `grpc.health.v1.Health/Check` instead of `GET path`. */
  grpc: Schema.optionalKey(Schema.Boolean)
})
export type ProbeSettings = typeof ProbeSettings.Type

/**
 * Outlier ejection that learns (Envoy's `outlier_detection`): an opened circuit stays open for
 * `baseMs × ejections so far`, at most `maxMs`, and no more than `maxPercent` of a pool is ejected
 * at once. Absent: the classic breaker, `resetTimeoutMs` doubled per consecutive trip.
 */
export const EjectionSettings = Schema.Struct({
  baseMs: Schema.Number,
  maxMs: Schema.Number,
  maxPercent: Schema.Number
})
export type EjectionSettings = typeof EjectionSettings.Type

/** Slow start (Envoy, HAProxy): a backend back in rotation ramps its weight up over `windowMs`. */
export const SlowStartSettings = Schema.Struct({
  windowMs: Schema.Number,
  minWeightPercent: Schema.Number,
  /** Envoy's curve: the weight follows `(elapsed / window)^(1 / aggression)`; 1 is linear. */
  aggression: Schema.Number
})
export type SlowStartSettings = typeof SlowStartSettings.Type

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
  ewmaDecayMs: Schema.Number,
  ejection: Schema.optionalKey(EjectionSettings),
  slowStart: Schema.optionalKey(SlowStartSettings),
  /** Peak EWMA (linkerd): an unmeasured backend's estimate, taken when it joins and decaying. */
  peakDefaultRttMs: Schema.optionalKey(Schema.Number),
  /** Peak EWMA: a refused, reset or overloaded request counts as at least this slow. */
  failurePenaltyMs: Schema.optionalKey(Schema.Number),
  /**
   * Honour a backend's `Retry-After` on a 503 (or a 429): no new request goes to it for that long,
   * at most this many milliseconds. Absent: `Retry-After` is passed to the client and nothing more.
   */
  retryAfterMaxMs: Schema.optionalKey(Schema.Number),
  /**
   * With `probe`: a backend new to the registry joins out of rotation, as if probes had taken it
   * out, and `healthyThreshold` successful probes bring it in. Set for the addresses DNS discovery
   * finds (`discovery/DnsMembers.ts`), so none takes traffic before it was checked.
   */
  probeBeforeTraffic: Schema.optionalKey(Schema.Boolean)
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
