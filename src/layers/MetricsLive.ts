/**
 * Metrics kept where they are cheapest to update, exported through Effect's own metric registry
 * and Prometheus formatter (`effect/observability`). Each series is registered once, with a `get`
 * hook that reads the plain number or histogram it stands for. The registry is private to this
 * layer, so two proxies in one process (tests, embedding) never mix their counts.
 *
 * A sampler fiber on Effect's `Clock` fills the trend buffer every `metrics.historyInterval`.
 *
 * Process memory (RSS, V8 heap, external) is read once per scrape, not kept: RSS growing while the
 * heap stays flat is native memory, and only a series over time shows which. Event-loop delay and
 * GC pauses are watched for the layer's life (`RuntimePauses.ts`) and read at the scrape too.
 */
import { Clock, Context, Effect, Layer, Metric, Option, Schedule, Stream } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { isAvailable } from "../domain/Availability.ts"
import { poolOf } from "../domain/Backend.ts"
import type { BackendState } from "../domain/BackendState.ts"
import { exported, makeHistogram, observe, proxyLatencyBoundaries } from "../domain/metrics/Histogram.ts"
import type { Histogram } from "../domain/metrics/Histogram.ts"
import { makeRing, push, toArray } from "../domain/metrics/History.ts"
import type { HistorySample } from "../domain/metrics/Sample.ts"
import { sampleOf } from "../domain/metrics/Sample.ts"
import { statusCountsByBackend } from "../domain/metrics/Traffic.ts"
import type { CountedRequest } from "../domain/RequestRecord.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import {
  activeConnections,
  arrayBuffersMemory,
  backendUp,
  circuitBreakerState,
  ejectionsDeclinedTotal,
  eventLoopDelay,
  ewmaLatency,
  externalMemory,
  gcPause,
  heapTotal,
  heapUsed,
  Metrics,
  rateLimitedTotal,
  rateLimitStoreErrorsTotal,
  requestDuration,
  requestsTotal,
  residentMemory,
  retriesTotal,
  retryBudgetExhaustedTotal,
  workerRestartsTotal
} from "../services/Metrics.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { RetryBudget } from "../services/RetryBudget.ts"
import { WorkerPool } from "../services/WorkerPool.ts"
import { watchRuntimePauses } from "./RuntimePauses.ts"

/** Methods kept as labels; any other becomes `OTHER`, so clients cannot grow the label set. */
const knownMethods: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "TRACE",
  "CONNECT"
])

const ignore = () => undefined

const circuitCode = (state: BackendState): number =>
  state.circuit._tag === "Closed" ? 0 : state.circuit._tag === "Open" ? 1 : 2

/** Able to take traffic, load aside: `maxConnections` saturation is not "down". */
const isUp = (state: BackendState): boolean => isAvailable({ ...state, inFlight: 0 })

export const MetricsLive = Layer.effect(
  Metrics,
  Effect.gen(function*() {
    const config = yield* ProxyConfig
    const registry = yield* BackendRegistry
    const rateLimiter = yield* RateLimiter
    const retryBudget = yield* RetryBudget
    const context = Context.make(Metric.MetricRegistry, new Map())
    const register = <State>(
      metric: Metric.Metric<number, State>,
      attributes: Record<string, string>,
      get: () => State
    ) =>
      Metric.registerUnsafe(Metric.withAttributes(metric, attributes), context, { get, update: ignore, modify: ignore })

    register(rateLimitedTotal, {}, () => ({ count: rateLimiter.rejected(), incremental: true }))
    if (config.rateLimit?.store !== undefined) {
      register(rateLimitStoreErrorsTotal, {}, () => ({ count: rateLimiter.storeErrors(), incremental: true }))
    }
    register(retryBudgetExhaustedTotal, {}, () => ({ count: retryBudget.exhausted(), incremental: true }))
    let ejectionsDeclined = 0
    register(ejectionsDeclinedTotal, {}, () => ({ count: ejectionsDeclined, incremental: true }))
    const workers = yield* Effect.serviceOption(WorkerPool)
    if (Option.isSome(workers)) {
      register(workerRestartsTotal, {}, () => ({ count: workers.value.restarts(), incremental: true }))
    }
    yield* Stream.fromSubscription(yield* registry.subscribe()).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "EjectionDeclined") ejectionsDeclined++
        })
      ),
      Effect.forkScoped
    )

    // One `process.memoryUsage()` per scrape (it reads /proc and the heap's statistics), shared by
    // the five gauges, which the formatter reads right after.
    let memory: NodeJS.MemoryUsage = process.memoryUsage()
    register(residentMemory, {}, () => ({ value: memory.rss }))
    register(heapTotal, {}, () => ({ value: memory.heapTotal }))
    register(heapUsed, {}, () => ({ value: memory.heapUsed }))
    register(externalMemory, {}, () => ({ value: memory.external }))
    register(arrayBuffersMemory, {}, () => ({ value: memory.arrayBuffers }))

    const pauses = yield* watchRuntimePauses
    register(eventLoopDelay, {}, pauses.eventLoopDelay)
    for (const [kind, read] of pauses.gcPauses) register(gcPause, { kind }, read)

    // Each series keeps its labels (set once, when it is first seen) for the sampler's sums.
    const requestCounts = new Map<string, { count: number; readonly backend: string; readonly status: number }>()
    const durations = new Map<string, Histogram>()

    const recordRequest = (record: CountedRequest): void => {
      // A cache hit is answered by the proxy, but by design: it gets a label of its own.
      const backend = record.cache === "HIT" ? "cache" : record.backend ?? "none"
      const method = knownMethods.has(record.method) ? record.method : "OTHER"
      const key = `${backend} ${method} ${record.status}`
      let counter = requestCounts.get(key)
      if (counter === undefined) {
        const series = { count: 0, backend, status: record.status }
        counter = series
        requestCounts.set(key, series)
        register(requestsTotal, { backend, method, status: String(record.status) }, () => ({
          count: series.count,
          incremental: true
        }))
      }
      counter.count++
      let histogram = durations.get(backend)
      if (histogram === undefined) {
        const series = makeHistogram(proxyLatencyBoundaries)
        histogram = series
        durations.set(backend, series)
        register(requestDuration, { backend }, () => exported(series))
      }
      observe(histogram, record.durationMs / 1000)
    }

    // Per-backend series read the registry's current state at each scrape; they follow
    // membership at scrape time too, so a backend that left stops being reported.
    // `lb_backend_up` also carries the pool (what an alert on a pool with no backend left
    // groups by), so a backend moved to another pool by a reload is registered anew.
    const backendSeries = new Map<
      string,
      { readonly pool: string; readonly registrations: ReadonlyArray<Metric.Registration> }
    >()
    const followMembership = () => {
      const present = new Set<string>()
      for (const state of registry.all()) {
        const name = state.spec.name
        const pool = poolOf(state.spec)
        present.add(name)
        const known = backendSeries.get(name)
        if (known?.pool === pool) continue
        known?.registrations.forEach((registration) => registration.remove())
        const current = () => registry.get(name)
        const attributes = { backend: name }
        backendSeries.set(name, {
          pool,
          registrations: [
            register(backendUp, { backend: name, pool }, () => {
              const s = current()
              return { value: s !== undefined && isUp(s) ? 1 : 0 }
            }),
            register(activeConnections, attributes, () => ({ value: current()?.inFlight ?? 0 })),
            // The average as measured, not as a strategy reads it: that read decays toward zero
            // while the backend is idle (so that it is tried again), which says nothing of its speed.
            register(ewmaLatency, attributes, () => {
              const s = current()
              return { value: s?.latency === undefined ? 0 : s.latency.value / 1000 }
            }),
            register(circuitBreakerState, attributes, () => {
              const s = current()
              return { value: s === undefined ? 0 : circuitCode(s) }
            }),
            register(retriesTotal, attributes, () => ({ count: current()?.retries ?? 0, incremental: true }))
          ]
        })
      }
      for (const [name, { registrations }] of backendSeries) {
        if (present.has(name)) continue
        registrations.forEach((registration) => registration.remove())
        backendSeries.delete(name)
      }
    }

    const history = makeRing<HistorySample>(config.metrics.historySize)
    // Status classes and bucket counts are folded here, once per interval, off the data path.
    const takeSample = (now: number) => {
      const latencyBuckets: Record<string, ReadonlyArray<number>> = {}
      for (const [backend, histogram] of durations) latencyBuckets[backend] = histogram.counts.slice()
      push(
        history,
        sampleOf(registry.all(), now, { responses: statusCountsByBackend(requestCounts.values()), latencyBuckets })
      )
    }
    yield* Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Effect.sync(() => takeSample(now))),
      Effect.repeat(Schedule.spaced(config.metrics.historyInterval)),
      Effect.forkScoped
    )

    return Metrics.of({
      recordRequest,
      prometheus: () => {
        followMembership()
        memory = process.memoryUsage()
        return PrometheusMetrics.formatUnsafe(context)
      },
      history: () => toArray(history)
    })
  })
)
