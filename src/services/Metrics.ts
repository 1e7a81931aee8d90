/**
 * Request metrics and the trend buffer. The Prometheus metric names live here, in one place; the
 * live layer keeps their values in plain counters and histograms that the data path updates
 * synchronously (exact, no Effect run per request) and that exports read when asked.
 *
 * Per-backend gauges (`lb_backend_up`, ...) are not updated at all: they are read from the
 * registry's states at scrape time, so they can never disagree with what the router sees.
 */
import { Context, Metric } from "effect"
import { eventLoopDelayBoundaries, gcPauseBoundaries, proxyLatencyBoundaries } from "../domain/metrics/Histogram.ts"
import type { HistorySample } from "../domain/metrics/Sample.ts"
import type { CountedRequest } from "../domain/RequestRecord.ts"

export const requestsTotal = Metric.counter("lb_requests_total", {
  description: "Client requests, by the backend that answered (none: the proxy answered), method and status",
  incremental: true
})
export const requestDuration = Metric.histogram("lb_request_duration_seconds", {
  description: "Time from a request's arrival to the end of its response, by backend",
  boundaries: proxyLatencyBoundaries
})
export const backendUp = Metric.gauge("lb_backend_up", {
  description: "1 while the backend can take traffic (in the pool, healthy, circuit not open), else 0"
})
export const activeConnections = Metric.gauge("lb_active_connections", {
  description: "Requests in flight to the backend"
})
export const ewmaLatency = Metric.gauge("lb_backend_ewma_latency_seconds", {
  description: "Time-weighted average response latency of the backend (0 until measured)"
})
export const circuitBreakerState = Metric.gauge("lb_circuit_breaker_state", {
  description: "Circuit breaker state: 0 closed, 1 open, 2 half-open"
})
export const retriesTotal = Metric.counter("lb_retries_total", {
  description: "Requests sent to the backend as a retry after another backend failed them",
  incremental: true
})

export const retryBudgetExhaustedTotal = Metric.counter("lb_retry_budget_exhausted_total", {
  description: "Retries not made because they would have gone over retry.budget",
  incremental: true
})

export const ejectionsDeclinedTotal = Metric.counter("lb_ejections_declined_total", {
  description: "Circuit openings declined because outlierDetection.maxEjectionPercent of the pool was ejected",
  incremental: true
})

export const workerRestartsTotal = Metric.counter("lb_worker_restarts_total", {
  description: "Worker processes restarted after dying (workers above 1)",
  incremental: true
})

export const rateLimitedTotal = Metric.counter("lb_rate_limited_requests_total", {
  description: "Requests refused with 429 because their client was over rateLimit",
  incremental: true
})

export const rateLimitStoreErrorsTotal = Metric.counter("lb_rate_limit_store_errors_total", {
  description:
    "Requests the rateLimit.store (Redis) did not answer in time (down, slow, an error), which followed onError",
  incremental: true
})

/**
 * The process's own memory, in the names prom-client's default collectors use (so dashboards
 * built for Node services work as they are). Read once per scrape; `npm run soak` follows them.
 */
export const residentMemory = Metric.gauge("process_resident_memory_bytes", {
  description: "Resident set size: all the memory the process holds in RAM, V8 heap and native alike"
})
export const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", {
  description: "V8 heap reserved (all spaces, the young generation's semi-spaces included)"
})
export const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", {
  description: "V8 heap in use by live and not yet collected objects"
})
export const externalMemory = Metric.gauge("nodejs_external_memory_bytes", {
  description: "Memory outside the V8 heap that JavaScript objects hold (Buffers, WebAssembly memories)"
})
export const arrayBuffersMemory = Metric.gauge("nodejs_array_buffers_bytes", {
  description: "The part of the external memory held by ArrayBuffers and Buffers"
})

/**
 * Pauses of the process itself, sampled beside the data path (not per request): how late the
 * event loop ran its timers, and how long each garbage collection stopped it.
 */
export const eventLoopDelay = Metric.histogram("lb_event_loop_delay_seconds", {
  description: "How late the event loop ran a timer sampled every 10 ms: time it was kept busy, GC pauses included",
  boundaries: eventLoopDelayBoundaries
})
export const gcPause = Metric.histogram("lb_gc_pause_seconds", {
  description: "Garbage collection pauses of the main thread, by kind (minor, major, incremental, weakcb)",
  boundaries: gcPauseBoundaries
})

export interface MetricsShape {
  /** Counts a finished client request: exact and synchronous (a map lookup, a bucket). */
  readonly recordRequest: (record: CountedRequest) => void
  /** The Prometheus text exposition of every metric, as of now. */
  readonly prometheus: () => string
  /** The trend buffer, oldest sample first. */
  readonly history: () => ReadonlyArray<HistorySample>
}

export class Metrics extends Context.Service<Metrics, MetricsShape>()("switchyard/services/Metrics") {}
