/**
 * The one wiring file: which layer feeds which. Everything the running proxy is, given a config
 * layer (a file, or a value built in code).
 *
 * Build order (and, reversed, shutdown order): config → registry and upstream pools → journal,
 * metrics and access log → router → health probes and breaker timers → proxy and admin
 * listeners. So SIGTERM drains the listener first, then stops supervision, then flushes the
 * journal and the access log, then closes upstream pools.
 */
import { Layer } from "effect"
import type { Config } from "../domain/config/ConfigLoader.ts"
import type { BackendRegistry } from "../services/BackendRegistry.ts"
import type { ConfigSource } from "../services/ConfigSource.ts"
import type { HealthProbe } from "../services/HealthProbe.ts"
import type { Metrics } from "../services/Metrics.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import type { RateLimiter } from "../services/RateLimiter.ts"
import type { SupervisorLinkShape } from "../services/SupervisorLink.ts"
import type { Tracing } from "../services/Tracing.ts"
import { AccessLogLive } from "./AccessLogLive.ts"
import { AdminServerLive } from "./AdminServerLive.ts"
import { BackendRegistryLive } from "./BackendRegistryLive.ts"
import { CircuitBreakerLive } from "./CircuitBreakerLive.ts"
import { DnsDiscoveryLive } from "./DnsDiscoveryLive.ts"
import { DnsResolverLive } from "./DnsResolverLive.ts"
import { EventJournalLive } from "./EventJournalLive.ts"
import { HealthProbeLive } from "./HealthProbeLive.ts"
import { HealthSupervisorLive } from "./HealthSupervisorLive.ts"
import { LeasedRateLimiterLive } from "./LeasedRateLimiterLive.ts"
import { LifecycleLogLive } from "./LifecycleLogLive.ts"
import { LoggingLive } from "./LoggingLive.ts"
import { MetricsLive } from "./MetricsLive.ts"
import { proxyServerLayer, ProxyServerLive } from "./ProxyServerLive.ts"
import { RateLimiterLive } from "./RateLimiterLive.ts"
import { withRateLimitStore } from "./RedisRateLimiterLive.ts"
import { ReloaderLive } from "./ReloaderLive.ts"
import { ReloadTargetLive } from "./ReloadTargetLive.ts"
import { ReplicaRegistryLive } from "./ReplicaRegistryLive.ts"
import { ResponseCacheLive } from "./ResponseCacheLive.ts"
import { RetryBackoffLive } from "./RetryBackoffLive.ts"
import { RetryBudgetLive } from "./RetryBudgetLive.ts"
import { RouterLive } from "./RouterLive.ts"
import { SlowStartLive } from "./SlowStartLive.ts"
import { SupervisorLinkLive } from "./SupervisorLinkLive.ts"
import { TracingLive } from "./TracingLive.ts"
import { UpstreamLive } from "./UpstreamLive.ts"
import { WorkerReadyLive, WorkersLaunchLive } from "./WorkerLaunch.ts"
import { WorkerMetricsLive } from "./WorkerMetricsLive.ts"
import { WorkerPoolLive } from "./WorkerPoolLive.ts"
import { WorkerSyncLive } from "./WorkerSyncLive.ts"

/** Where spans go: the config's OTLP endpoint by default, or a pipeline of the caller's. */
type TracingLayer = Layer.Layer<Tracing, never, ProxyConfig>

/** The data path's services: what a process serving requests needs, whatever else it runs. */
const dataPath = <RegistryIn, RateIn, Observers extends Metrics, ObserversE, ObserversIn>(parts: {
  readonly registry: Layer.Layer<BackendRegistry, never, RegistryIn>
  readonly rateLimiter: Layer.Layer<RateLimiter, never, RateIn>
  /** Metrics, and in the process that keeps the registry's truth, the journal. */
  readonly observers: Layer.Layer<Observers, ObserversE, ObserversIn>
  readonly tracing: TracingLayer
}) =>
  RouterLive.pipe(
    Layer.provideMerge(Layer.mergeAll(parts.observers, AccessLogLive, parts.tracing)),
    Layer.provideMerge(
      Layer.mergeAll(
        parts.registry,
        UpstreamLive,
        parts.rateLimiter,
        RetryBudgetLive,
        RetryBackoffLive,
        ResponseCacheLive
      )
    )
  )

const coreWith = (tracing: TracingLayer) =>
  dataPath({
    registry: BackendRegistryLive,
    rateLimiter: withRateLimitStore(RateLimiterLive),
    observers: Layer.mergeAll(EventJournalLive, MetricsLive, LifecycleLogLive),
    tracing
  })

/**
 * The proxy without listeners: router, registry, upstream pools, metrics, journal. For programs
 * that mount `Router.handle` in a server of their own.
 */
export const ProxyCoreLive = coreWith(TracingLive)

/** How a backend's health is asked: `HealthProbeLive` by default, or a probe of the embedding program's. */
type ProbeLayer = Layer.Layer<HealthProbe, never, ProxyConfig>

const supervisionWith = (probe: ProbeLayer) =>
  Layer.mergeAll(HealthSupervisorLive.pipe(Layer.provide(probe)), CircuitBreakerLive, SlowStartLive)

/** Work beside the data path: health probes, the breaker's and slow start's timers. */
export const SupervisionLive = supervisionWith(HealthProbeLive)

/**
 * DNS discovery, in front of the reload target it applies membership changes to (and that reloads
 * reach through it): run once, where the registry's truth is.
 */
const DiscoveryLive = DnsDiscoveryLive.pipe(Layer.provide(DnsResolverLive))

/**
 * Proxy and admin listeners over the core and its supervision; needs a `ProxyConfig`. Exposes
 * every service. Supervision is built before the listeners and stops after them.
 */
const switchyardWith = (tracing: TracingLayer, probe: ProbeLayer) =>
  Layer.merge(ProxyServerLive, AdminServerLive).pipe(
    Layer.provideMerge(
      Layer.merge(
        supervisionWith(probe),
        ReloaderLive.pipe(Layer.provide(DiscoveryLive.pipe(Layer.provide(ReloadTargetLive))))
      )
    ),
    Layer.provideMerge(coreWith(tracing)),
    Layer.provide(LoggingLive)
  )

export const SwitchyardLive = switchyardWith(TracingLive, HealthProbeLive)

/**
 * A worker process (`workers: N`): the proxy listener and the data path over a replica of the
 * supervisor's registry, in step with it through `link`. No probes, timers, journal or admin
 * listener: those are the supervisor's.
 */
export const WorkerLive = (link: SupervisorLinkShape, config: Config) =>
  WorkerReadyLive.pipe(
    Layer.provideMerge(Layer.merge(proxyServerLayer({ reusePort: true }), WorkerSyncLive)),
    Layer.provideMerge(
      dataPath({
        registry: ReplicaRegistryLive,
        rateLimiter: withRateLimitStore(LeasedRateLimiterLive),
        observers: WorkerMetricsLive,
        tracing: TracingLive
      })
    ),
    Layer.provideMerge(SupervisorLinkLive(link)),
    Layer.provide(LoggingLive),
    Layer.provideMerge(Layer.succeed(ProxyConfig, config))
  )

/**
 * The supervisor of `workers: N`: the one registry, probes, breaker and slow-start timers,
 * journal, metrics, reloads and the admin listener; the workers it launches serve the traffic.
 */
export const SupervisorLive = Layer.merge(AdminServerLive, WorkersLaunchLive).pipe(
  Layer.provideMerge(Layer.merge(SupervisionLive, ReloaderLive.pipe(Layer.provide(DiscoveryLive)))),
  Layer.provideMerge(Layer.mergeAll(EventJournalLive, MetricsLive, LifecycleLogLive)),
  Layer.provideMerge(WorkerPoolLive),
  Layer.provideMerge(BackendRegistryLive),
  Layer.provide(LoggingLive)
)

/**
 * The whole proxy from a config layer. `options.tracing` replaces the tracing pipeline (see
 * `TracingWith`), e.g. to collect spans in memory; `options.healthProbe` how backends are probed
 * (`examples/file-health-probe.ts`). The config may name the `Strategies` provided around it.
 */
export const AppLive = <E>(
  config: Layer.Layer<ProxyConfig | ConfigSource, E>,
  options?: { readonly tracing?: TracingLayer; readonly healthProbe?: ProbeLayer }
) =>
  switchyardWith(options?.tracing ?? TracingLive, options?.healthProbe ?? HealthProbeLive).pipe(
    Layer.provideMerge(config)
  )
