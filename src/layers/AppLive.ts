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
import type { ConfigSource } from "../services/ConfigSource.ts"
import type { ProxyConfig } from "../services/ProxyConfig.ts"
import type { Tracing } from "../services/Tracing.ts"
import { AccessLogLive } from "./AccessLogLive.ts"
import { AdminServerLive } from "./AdminServerLive.ts"
import { BackendRegistryLive } from "./BackendRegistryLive.ts"
import { CircuitBreakerLive } from "./CircuitBreakerLive.ts"
import { EventJournalLive } from "./EventJournalLive.ts"
import { HealthProbeLive } from "./HealthProbeLive.ts"
import { HealthSupervisorLive } from "./HealthSupervisorLive.ts"
import { LoggingLive } from "./LoggingLive.ts"
import { MetricsLive } from "./MetricsLive.ts"
import { ProxyServerLive } from "./ProxyServerLive.ts"
import { RateLimiterLive } from "./RateLimiterLive.ts"
import { ReloaderLive } from "./ReloaderLive.ts"
import { ResponseCacheLive } from "./ResponseCacheLive.ts"
import { RetryBackoffLive } from "./RetryBackoffLive.ts"
import { RetryBudgetLive } from "./RetryBudgetLive.ts"
import { RouterLive } from "./RouterLive.ts"
import { SlowStartLive } from "./SlowStartLive.ts"
import { TracingLive } from "./TracingLive.ts"
import { UpstreamLive } from "./UpstreamLive.ts"

/** Where spans go: the config's OTLP endpoint by default, or a pipeline of the caller's. */
type TracingLayer = Layer.Layer<Tracing, never, ProxyConfig>

const coreWith = (tracing: TracingLayer) =>
  RouterLive.pipe(
    Layer.provideMerge(Layer.mergeAll(EventJournalLive, MetricsLive, AccessLogLive, tracing)),
    Layer.provideMerge(
      Layer.mergeAll(
        BackendRegistryLive,
        UpstreamLive,
        RateLimiterLive,
        RetryBudgetLive,
        RetryBackoffLive,
        ResponseCacheLive
      )
    )
  )

/**
 * The proxy without listeners: router, registry, upstream pools, metrics, journal. For programs
 * that mount `Router.handle` in a server of their own.
 */
export const ProxyCoreLive = coreWith(TracingLive)

/** Work beside the data path: health probes, the breaker's and slow start's timers, reloads. */
const SupervisionLive = Layer.mergeAll(
  HealthSupervisorLive.pipe(Layer.provide(HealthProbeLive)),
  CircuitBreakerLive,
  SlowStartLive,
  ReloaderLive
)

/**
 * Proxy and admin listeners over the core and its supervision; needs a `ProxyConfig`. Exposes
 * every service. Supervision is built before the listeners and stops after them.
 */
const switchyardWith = (tracing: TracingLayer) =>
  Layer.merge(ProxyServerLive, AdminServerLive).pipe(
    Layer.provideMerge(SupervisionLive),
    Layer.provideMerge(coreWith(tracing)),
    Layer.provide(LoggingLive)
  )

export const SwitchyardLive = switchyardWith(TracingLive)

/**
 * The whole proxy from a config layer. `options.tracing` replaces the tracing pipeline (see
 * `TracingWith`), e.g. to collect spans in memory.
 */
export const AppLive = <E>(
  config: Layer.Layer<ProxyConfig | ConfigSource, E>,
  options?: { readonly tracing?: TracingLayer }
) => switchyardWith(options?.tracing ?? TracingLive).pipe(Layer.provideMerge(config))
