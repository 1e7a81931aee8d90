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
import type { ProxyConfig } from "../services/ProxyConfig.ts"
import { AccessLogLive } from "./AccessLogLive.ts"
import { AdminServerLive } from "./AdminServerLive.ts"
import { BackendRegistryLive } from "./BackendRegistryLive.ts"
import { CircuitBreakerLive } from "./CircuitBreakerLive.ts"
import { EventJournalLive } from "./EventJournalLive.ts"
import { HealthSupervisorLive } from "./HealthSupervisorLive.ts"
import { LoggingLive } from "./LoggingLive.ts"
import { MetricsLive } from "./MetricsLive.ts"
import { ProxyServerLive } from "./ProxyServerLive.ts"
import { RouterLive } from "./RouterLive.ts"
import { UpstreamLive } from "./UpstreamLive.ts"

/**
 * The proxy without listeners: router, registry and upstream pools. For programs that mount
 * `Router.handle` in a server of their own.
 */
export const ProxyCoreLive = RouterLive.pipe(
  Layer.provideMerge(Layer.mergeAll(EventJournalLive, MetricsLive, AccessLogLive)),
  Layer.provideMerge(Layer.merge(BackendRegistryLive, UpstreamLive))
)

/** Work in the background: health probes and the breaker's timers. */
const SupervisionLive = Layer.merge(HealthSupervisorLive, CircuitBreakerLive)

/**
 * Proxy and admin listeners over the core and its supervision; needs a `ProxyConfig`. Exposes
 * every service. Supervision is built before the listeners and stops after them.
 */
export const SwitchyardLive = Layer.merge(ProxyServerLive, AdminServerLive).pipe(
  Layer.provideMerge(SupervisionLive),
  Layer.provideMerge(ProxyCoreLive),
  Layer.provide(LoggingLive)
)

export const AppLive = <E>(config: Layer.Layer<ProxyConfig, E>) =>
  SwitchyardLive.pipe(Layer.provideMerge(config))
