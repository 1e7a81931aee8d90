/**
 * `switchyard simulate`: runs a scenario's traffic through each strategy, on simulated backends
 * under a virtual clock, and reports what clients would have seen.
 *
 * Composition only. Everything but the backends and the clock is the proxy's own: the registry
 * (`BackendRegistryLive`, so `evolve`, EWMA and the breaker's transitions), health supervision
 * (`HealthSupervisorLive`, probing the simulated backends through `SimHealthProbeLive`), the
 * breaker's and slow start's timers (`CircuitBreakerLive`, `SlowStartLive`) and the retry backoff
 * (`RetryBackoffLive`), all on the `VirtualClockLive`; `lab/StrategyRun.ts` drives the requests
 * through them (`domain/sim/Lab.ts`); `lab/ReportText.ts` and `lab/Chart.ts` draw the report.
 */
import { Console, Effect, Layer, Random } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { ScenarioError, SimulateError } from "../domain/Errors.ts"
import { strategyNames } from "../domain/selection/Strategies.ts"
import type { StrategyName } from "../domain/selection/Strategies.ts"
import type { SimulatedBackend } from "../domain/sim/BackendModel.ts"
import type { Workload } from "../domain/sim/Lab.ts"
import { buildReport } from "../domain/sim/Report.ts"
import type { SimulationReport } from "../domain/sim/Report.ts"
import { loadScenario } from "../domain/sim/ScenarioLoader.ts"
import type { Scenario } from "../domain/sim/ScenarioLoader.ts"
import { renderChart } from "../lab/Chart.ts"
import { renderJson, renderTable } from "../lab/ReportText.ts"
import { labSeeds, runLab, scenarioWorkload } from "../lab/StrategyRun.ts"
import type { StrategyRun } from "../lab/StrategyRun.ts"
import { BackendRegistryLive } from "../layers/BackendRegistryLive.ts"
import { CircuitBreakerLive } from "../layers/CircuitBreakerLive.ts"
import { HealthSupervisorLive } from "../layers/HealthSupervisorLive.ts"
import { RetryBackoffLive } from "../layers/RetryBackoffLive.ts"
import { SimHealthProbeLive } from "../layers/SimHealthProbeLive.ts"
import { SlowStartLive } from "../layers/SlowStartLive.ts"
import { VirtualClockLive } from "../layers/VirtualClockLive.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

export type { StrategyRun } from "../lab/StrategyRun.ts"

/**
 * The proxy of one run, on simulated backends and a virtual clock of its own. Exported for the
 * tests that read its registry while `runLab` drives it (the attempt sequence, lab against sockets).
 */
export const labProxyLive = (config: Config, backends: ReadonlyArray<SimulatedBackend>) => {
  const supervision = Layer.mergeAll(
    HealthSupervisorLive.pipe(Layer.provide(SimHealthProbeLive(backends))),
    CircuitBreakerLive,
    SlowStartLive
  )
  return Layer.merge(supervision.pipe(Layer.provideMerge(BackendRegistryLive)), RetryBackoffLive).pipe(
    Layer.provideMerge(Layer.succeed(ProxyConfig, config)),
    Layer.provideMerge(VirtualClockLive)
  )
}

/**
 * A workload through the proxy `config` describes, from a fresh registry and clock (`local`:
 * nothing is shared with another run). The proxy's `Random` is seeded around the layers, so they
 * draw from it too.
 */
export const runWorkload = (config: Config, workload: Workload, seed: number): Effect.Effect<StrategyRun> =>
  runLab(workload, seed).pipe(
    Effect.provide(labProxyLive(config, workload.backends), { local: true }),
    Random.withSeed(labSeeds(seed).proxy)
  )

/** The scenario through one strategy. */
export const runStrategy = (scenario: Scenario, strategy: StrategyName, seed: number): Effect.Effect<StrategyRun> =>
  runWorkload({ ...scenario.config, strategy }, scenarioWorkload(scenario), seed)

/** Every strategy asked for, one after the other (each from scratch), into one report. */
export const simulateScenario = (
  file: string,
  scenario: Scenario,
  strategies: ReadonlyArray<StrategyName>,
  seed: number
): Effect.Effect<SimulationReport> =>
  Effect.forEach(strategies, (strategy) => runStrategy(scenario, strategy, seed)).pipe(
    Effect.map((runs) => buildReport({ file, scenario, seed, runs }))
  )

/** `--strategies a,b`: names from the strategy table, in the order given. */
export const parseStrategies = (text: string): Effect.Effect<ReadonlyArray<StrategyName>, SimulateError> => {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "")
  const known: ReadonlyArray<string> = strategyNames
  const unknown = names.filter((name) => !known.includes(name))
  if (names.length === 0 || unknown.length > 0) {
    const what = names.length === 0
      ? "no strategy named"
      : `unknown strategy ${unknown.map((name) => `"${name}"`).join(", ")}`
    return Effect.fail(
      new SimulateError({ message: `--strategies: ${what}; expected some of: ${strategyNames.join(", ")}` })
    )
  }
  return Effect.succeed(
    strategyNames.filter((name) => names.includes(name)).sort((a, b) => names.indexOf(a) - names.indexOf(b))
  )
}

export const readScenarioFile = (file: string): Effect.Effect<Scenario, ScenarioError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new ScenarioError({
        file,
        problems: [{
          path: "",
          message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}`
        }]
      })
  }).pipe(Effect.flatMap((text) => Effect.fromResult(loadScenario({ file, text, env: process.env }))))

export interface SimulateOptions {
  readonly scenario: string
  /** Comma-separated; absent: the scenario's own list, or every strategy. */
  readonly strategies: string | undefined
  readonly seed: number
  readonly format: "table" | "json"
  /** An `.svg` or `.html` file to draw latency over time into. */
  readonly chart: string | undefined
}

export const simulate = (options: SimulateOptions) =>
  Effect.gen(function*() {
    const chart = yield* chartTarget(options.chart)
    const scenario = yield* readScenarioFile(options.scenario)
    const strategies = options.strategies === undefined
      ? scenario.strategies ?? strategyNames
      : yield* parseStrategies(options.strategies)
    const report = yield* simulateScenario(options.scenario, scenario, strategies, options.seed)
    yield* Console.log(options.format === "json" ? renderJson(report) : renderTable(report))
    if (chart !== undefined) yield* writeChart(chart, report)
  })

export interface ChartTarget {
  readonly file: string
  readonly format: "svg" | "html"
}

/** `--chart FILE`, checked before anything runs: an `.svg` or `.html` file. */
export const chartTarget = (file: string | undefined): Effect.Effect<ChartTarget | undefined, SimulateError> => {
  if (file === undefined) return Effect.succeed(undefined)
  const format = file.endsWith(".svg") ? "svg" : file.endsWith(".html") ? "html" : undefined
  return format === undefined
    ? Effect.fail(new SimulateError({ message: `--chart ${file}: expected a file name ending in .svg or .html` }))
    : Effect.succeed({ file, format })
}

export const writeChart = (chart: ChartTarget, report: SimulationReport): Effect.Effect<void, SimulateError> =>
  Effect.tryPromise({
    try: () => writeFile(chart.file, renderChart(report, chart.format)),
    catch: (error) =>
      new SimulateError({
        message: `cannot write the chart ${chart.file}: ${error instanceof Error ? error.message : String(error)}`
      })
  })
