/**
 * Switchyard as a library: the services (ports), their live layers (adapters), and the pure
 * domain they share, so an Effect program can embed the proxy (its own listener, or the router's
 * handler mounted in a server of its own) and a test can swap any layer.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AppLive, ProxyConfigLive, ProxyServer } from "switchyard"
 *
 * const proxy = AppLive(ProxyConfigLive.fromObject({ backends: [{ url: "http://127.0.0.1:9001" }] }))
 * Effect.runFork(Layer.launch(proxy))
 * ```
 */

// Services: what each part offers.
export { AccessLog } from "./services/AccessLog.ts"
export type { AccessLogShape } from "./services/AccessLog.ts"
export { AdminServer } from "./services/AdminServer.ts"
export { BackendRegistry } from "./services/BackendRegistry.ts"
export type { BackendRegistryShape } from "./services/BackendRegistry.ts"
export { ConfigSource } from "./services/ConfigSource.ts"
export { HealthProbe } from "./services/HealthProbe.ts"
export type { HealthProbeShape, ProbeResult } from "./services/HealthProbe.ts"
export { Metrics } from "./services/Metrics.ts"
export type { MetricsShape } from "./services/Metrics.ts"
export { ProxyConfig } from "./services/ProxyConfig.ts"
export { ProxyServer } from "./services/ProxyServer.ts"
export type { ListenAddress } from "./services/ProxyServer.ts"
export { RateLimiter } from "./services/RateLimiter.ts"
export { NotReloadable, Reloader } from "./services/Reloader.ts"
export type { ReloadReport } from "./services/Reloader.ts"
export { ResponseCache } from "./services/ResponseCache.ts"
export { Router } from "./services/Router.ts"
export type { RouterShape } from "./services/Router.ts"
export { Strategies } from "./services/Strategies.ts"
export { Tracing } from "./services/Tracing.ts"
export type { AttemptTrace, RequestTrace, TracingShape } from "./services/Tracing.ts"
export { Upstream } from "./services/Upstream.ts"
export type { UpstreamRequest, UpstreamShape } from "./services/Upstream.ts"

// Layers: how each part is built, and the whole proxy wired.
export { AccessLogLive } from "./layers/AccessLogLive.ts"
export { AdminServerLive } from "./layers/AdminServerLive.ts"
export { AppLive, ProxyCoreLive, SwitchyardLive } from "./layers/AppLive.ts"
export { BackendRegistryLive, makeBackendRegistry } from "./layers/BackendRegistryLive.ts"
export { CircuitBreakerLive } from "./layers/CircuitBreakerLive.ts"
export { EventJournalLive } from "./layers/EventJournalLive.ts"
export { HealthProbeLive } from "./layers/HealthProbeLive.ts"
export { HealthSupervisorLive } from "./layers/HealthSupervisorLive.ts"
export { LoggingLive } from "./layers/LoggingLive.ts"
export { MetricsLive } from "./layers/MetricsLive.ts"
export { ProxyConfigLive, readConfigFile } from "./layers/ProxyConfigLive.ts"
export { ProxyServerLive } from "./layers/ProxyServerLive.ts"
export { RateLimiterLive } from "./layers/RateLimiterLive.ts"
export { ReloaderLive } from "./layers/ReloaderLive.ts"
export { ResponseCacheLive } from "./layers/ResponseCacheLive.ts"
export { RouterLive } from "./layers/RouterLive.ts"
export { StrategiesLive } from "./layers/StrategiesLive.ts"
export { TracingLive, TracingWith } from "./layers/TracingLive.ts"
export { UpstreamLive } from "./layers/UpstreamLive.ts"

// Domain: plain data and pure functions.
export { isAvailable, isSelectable } from "./domain/Availability.ts"
export { BackendSpec } from "./domain/Backend.ts"
export { BackendEvent, RequestOutcome } from "./domain/BackendEvent.ts"
export { BackendPolicy } from "./domain/BackendPolicy.ts"
export { evolve, initialState } from "./domain/BackendState.ts"
export type { BackendState } from "./domain/BackendState.ts"
export { decodeConfig, loadConfig } from "./domain/config/ConfigLoader.ts"
export type { Config } from "./domain/config/ConfigLoader.ts"
export { ConfigSchema } from "./domain/config/ConfigSchema.ts"
export { ConfigError, ConfigProblem, JournalError, ListenError } from "./domain/Errors.ts"
export type { RequestRecord } from "./domain/RequestRecord.ts"
export { mayRetry, retrySchedule } from "./domain/retry/RetryPolicy.ts"
export { builtInStrategies, strategies, strategyNames, withStrategies } from "./domain/selection/Strategies.ts"
export type { StrategyName, StrategyTable } from "./domain/selection/Strategies.ts"
export type { RequestFacts, SelectionEnv, Selector, Strategy, StrategySettings } from "./domain/selection/Strategy.ts"
export { replay, snapshotEvents } from "./domain/Timeline.ts"
export { transitions } from "./domain/Transitions.ts"
export { version } from "./version.ts"

// The strategy lab (`switchyard simulate`): scenarios, runs and their reports.
export { ScenarioError, SimulateError } from "./domain/Errors.ts"
export { buildReport } from "./domain/sim/Report.ts"
export type { SimulationReport, StrategyReport } from "./domain/sim/Report.ts"
export { loadScenario } from "./domain/sim/ScenarioLoader.ts"
export type { Scenario } from "./domain/sim/ScenarioLoader.ts"
export { ScenarioSchema } from "./domain/sim/ScenarioSchema.ts"
export { renderChart } from "./lab/Chart.ts"
export { renderJson, renderTable } from "./lab/ReportText.ts"
export { readScenarioFile, runStrategy, simulateScenario } from "./programs/Simulate.ts"
export type { StrategyRun } from "./programs/Simulate.ts"
