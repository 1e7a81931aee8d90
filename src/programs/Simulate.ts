/**
 * `switchyard simulate`: runs a scenario's traffic through each strategy, on simulated backends
 * under a virtual clock, and reports what clients would have seen.
 *
 * Everything but the backends and the clock is the proxy's own: the registry
 * (`BackendRegistryLive`, so `evolve`, EWMA and the breaker's transitions), health supervision
 * (`HealthSupervisorLive`, probing through a `HealthProbe` that asks the simulated backends),
 * the breaker's and slow start's timers (`CircuitBreakerLive`, `SlowStartLive`), the routing and
 * strategies (`makeRouting`), the retry policy and its `Schedule`, the retry budget, and the
 * edge's failure statuses. Requests flow through `domain/sim/Lab.ts`.
 *
 * Time: the lab keeps the simulated time; Effect's `TestClock` is moved to each instant a timer
 * is due (a probe, a breaker's open period ending) and to each instant health or a circuit
 * changed, so the timers fire at exactly the right simulated times. Between those, a million
 * requests run as plain function calls. Randomness: three streams of Effect's `Random`, seeded
 * from `--seed`, for the traffic, the backends' answers to retries, and the proxy (strategies,
 * backoff jitter), so a scenario and a seed give the same output byte for byte, and every
 * strategy is given the same traffic.
 */
import { Clock, Console, Context, Duration, Effect, Layer, Random, Scheduler, Stream } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import { readFile, writeFile } from "node:fs/promises"
import { defaultPool } from "../domain/Backend.ts"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import { ScenarioError, SimulateError } from "../domain/Errors.ts"
import { makeRetryBudget } from "../domain/retry/RetryBudget.ts"
import { makeRouting } from "../domain/routing/Routing.ts"
import { strategyNames } from "../domain/selection/Strategies.ts"
import type { StrategyName } from "../domain/selection/Strategies.ts"
import { conditionAt, timelineOf } from "../domain/sim/BackendModel.ts"
import { renderChart } from "../domain/sim/Chart.ts"
import type { LabResults, SimTime } from "../domain/sim/Lab.ts"
import { makeLab } from "../domain/sim/Lab.ts"
import { buildReport, renderJson, renderTable } from "../domain/sim/Report.ts"
import type { SimulationReport } from "../domain/sim/Report.ts"
import { loadScenario } from "../domain/sim/ScenarioLoader.ts"
import type { Scenario } from "../domain/sim/ScenarioLoader.ts"
import { BackendRegistryLive } from "../layers/BackendRegistryLive.ts"
import { CircuitBreakerLive } from "../layers/CircuitBreakerLive.ts"
import { HealthSupervisorLive } from "../layers/HealthSupervisorLive.ts"
import { SlowStartLive } from "../layers/SlowStartLive.ts"
import { RetryBackoffLive } from "../layers/RetryBackoffLive.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { HealthProbe } from "../services/HealthProbe.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RetryBackoff } from "../services/RetryBackoff.ts"

/** Effect's `TestClock`, watched: when its next sleeper is due, and when every fiber is idle. */
interface VirtualClock {
  /** The watched `TestClock` and its scheduler, to run the proxy's fibers under. */
  readonly context: Context.Context<never>
  /** When the earliest sleeping fiber is due; `Infinity` when none sleeps. */
  readonly nextTimer: () => number
  /** Moves the clock to `at`, waking every sleeper due by then in order (`TestClock.setTime`). */
  readonly advanceTo: (at: number) => Effect.Effect<void>
  /** Lets every fiber with work run until all wait again: the observers of an event just emitted. */
  readonly settle: Effect.Effect<void>
}

/** Below every other task, so a round of the scheduler runs everyone else's work first. */
const lastPriority = Number.MAX_SAFE_INTEGER

/** Rounds only a fiber that never waits could need: a hang becomes an error instead. */
const maxSettleRounds = 100_000

/**
 * A `TestClock` (`effect/testing`) whose sleeps are noted as they begin, so the lab knows where
 * to stop; and a count of the tasks its scheduler is given, so `settle` can tell when a round
 * went by with nothing but its own task to run.
 */
const makeVirtualClock: Effect.Effect<VirtualClock, never, Scope.Scope> = Effect.gen(function*() {
  const built = yield* Layer.build(TestClock.layer())
  const testClock = yield* TestClock.testClockWith(Effect.succeed).pipe(Effect.provideContext(built))
  const inner = Context.get(built, Scheduler.Scheduler)
  let tasks = 0
  const scheduler: Scheduler.Scheduler = {
    executionMode: inner.executionMode,
    shouldYield: (fiber) => inner.shouldYield(fiber),
    makeDispatcher: () => {
      const dispatcher = inner.makeDispatcher()
      return {
        scheduleTask: (task, priority) => {
          tasks++
          dispatcher.scheduleTask(task, priority)
        },
        flush: () => dispatcher.flush()
      }
    }
  }
  const sleepers: Array<number> = []
  const watched: TestClock.TestClock = {
    ...testClock,
    sleep: (duration) => {
      const end = testClock.currentTimeMillisUnsafe() + Duration.toMillis(duration)
      sleepers.push(end)
      return testClock.sleep(duration).pipe(Effect.ensuring(Effect.sync(() => {
        const index = sleepers.indexOf(end)
        if (index >= 0) sleepers.splice(index, 1)
      })))
    }
  }
  const settle = Effect.gen(function*() {
    for (let round = 0; round < maxSettleRounds; round++) {
      const before = tasks
      yield* Effect.yieldNowWith(lastPriority)
      if (tasks === before + 1) return
    }
    return yield* Effect.die(new Error("the proxy's fibers never settled: one of them runs without ever waiting"))
  })
  return {
    context: Context.make(Clock.Clock, watched).pipe(Context.add(Scheduler.Scheduler, scheduler)),
    nextTimer: () => sleepers.reduce((soonest, end) => Math.min(soonest, end), Number.POSITIVE_INFINITY),
    advanceTo: (at) => testClock.setTime(at),
    settle
  }
})

/**
 * Health probes answered by the simulated backends at the clock's time: refused while a backend
 * is down, healthy at once otherwise (a health endpoint is cheap: probes see whether a backend
 * is up, not how loaded it is).
 */
const SimHealthProbe = (scenario: Scenario) => {
  const timelines = new Map(scenario.backends.map((backend) => [backend.name, timelineOf(backend)]))
  return Layer.succeed(HealthProbe, HealthProbe.of({
    probe: (backend) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const timeline = timelines.get(backend.name)
        return timeline !== undefined && conditionAt(timeline, now).down
          ? { healthy: false, reason: "connection refused" }
          : { healthy: true, latencyMs: 0 }
      })
  }))
}

/** One seeded stream of Effect's `Random`. */
const randomStream = (seed: string) =>
  Effect.gen(function*() {
    return yield* Random.Random
  }).pipe(Random.withSeed(seed))

/** What a run of one strategy produced: the lab's measurements and the backends' transitions. */
export interface StrategyRun {
  readonly strategy: StrategyName
  readonly results: LabResults
  /** Health and circuit transitions, at their simulated times. */
  readonly transitions: ReadonlyArray<BackendEvent>
}

const isTransition = (event: BackendEvent): boolean =>
  event._tag === "HealthChanged" || event._tag === "CircuitOpened" || event._tag === "CircuitHalfOpened" ||
  event._tag === "CircuitClosed" || event._tag === "EjectionDeclined"

/** The scenario through one strategy, from a fresh registry and clock. */
export const runStrategy = Effect.fn("Simulate.runStrategy")(function*(
  scenario: Scenario,
  strategy: StrategyName,
  seed: number
) {
  const clock = yield* makeVirtualClock
  const trafficRandom = yield* randomStream(`${seed}`)
  const serviceRandom = yield* randomStream(`${seed}/backends`)
  const proxyRandom = yield* randomStream(`${seed}/proxy`)
  const config = { ...scenario.config, strategy }

  return yield* Effect.gen(function*() {
    const supervision = Layer.mergeAll(
      HealthSupervisorLive.pipe(Layer.provide(SimHealthProbe(scenario))),
      CircuitBreakerLive,
      SlowStartLive
    )
    const built = yield* Layer.build(
      Layer.merge(supervision.pipe(Layer.provideMerge(BackendRegistryLive)), RetryBackoffLive).pipe(
        Layer.provide(Layer.succeed(ProxyConfig, config))
      )
    )
    const registry = Context.get(built, BackendRegistry)
    const transitions: Array<BackendEvent> = []
    yield* Stream.fromSubscription(yield* registry.subscribe()).pipe(
      Stream.runForEach((event) => Effect.sync(() => isTransition(event) && transitions.push(event))),
      Effect.forkScoped
    )

    // The jitter of the backoff draws from the proxy's seeded `Random`, provided here.
    const backoff = Context.get(built, RetryBackoff)
    const budget = config.retry.budget
    const time: SimTime = { now: 0 }
    const routing = makeRouting(config, registry, {
      random: () => proxyRandom.nextDoubleUnsafe(),
      now: () => time.now
    })
    const lab = makeLab({
      time,
      registry,
      select: (facts, excluded) => routing.select(defaultPool, facts, excluded),
      backoff: backoff.fresh,
      budget: budget === undefined ? undefined : makeRetryBudget({
        percent: budget.percent,
        minRetriesPerSecond: budget.minRetriesPerSecond,
        windowMs: Duration.toMillis(budget.window)
      }),
      maxAttempts: config.retry.attempts,
      maxBodySize: config.server.maxBodySize,
      requestTimeoutMs: Duration.toMillis(config.timeouts.request),
      backends: scenario.backends,
      traffic: scenario.traffic,
      trafficRandom: () => trafficRandom.nextDoubleUnsafe(),
      serviceRandom: () => serviceRandom.nextDoubleUnsafe()
    })

    // Time 0: the first probes run and every observer is listening before the first request.
    yield* clock.advanceTo(0)
    yield* clock.settle
    while (lab.nextAt() !== Number.POSITIVE_INFINITY) {
      const timer = clock.nextTimer()
      if (timer <= lab.nextAt()) {
        yield* clock.advanceTo(timer)
        continue
      }
      if (lab.runUntil(timer)) {
        yield* clock.advanceTo(time.now)
        yield* clock.settle
      }
    }
    yield* clock.settle
    return { strategy, results: lab.results(), transitions } satisfies StrategyRun
  }).pipe(Effect.provideContext(clock.context), Effect.provideService(Random.Random, proxyRandom))
}, Effect.scoped)

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
    const what = names.length === 0 ? "no strategy named" : `unknown strategy ${unknown.map((name) => `"${name}"`).join(", ")}`
    return Effect.fail(new SimulateError({ message: `--strategies: ${what}; expected some of: ${strategyNames.join(", ")}` }))
  }
  return Effect.succeed(strategyNames.filter((name) => names.includes(name)).sort((a, b) => names.indexOf(a) - names.indexOf(b)))
}

export const readScenarioFile = (file: string): Effect.Effect<Scenario, ScenarioError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new ScenarioError({
        file,
        problems: [{ path: "", message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}` }]
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
    const chartFormat = options.chart === undefined ? undefined : chartFormatOf(options.chart)
    if (options.chart !== undefined && chartFormat === undefined) {
      return yield* new SimulateError({ message: `--chart ${options.chart}: expected a file name ending in .svg or .html` })
    }
    const scenario = yield* readScenarioFile(options.scenario)
    const strategies = options.strategies === undefined
      ? scenario.strategies ?? strategyNames
      : yield* parseStrategies(options.strategies)
    const report = yield* simulateScenario(options.scenario, scenario, strategies, options.seed)
    yield* Console.log(options.format === "json" ? renderJson(report) : renderTable(report))
    if (options.chart !== undefined && chartFormat !== undefined) {
      const chart = options.chart
      yield* Effect.tryPromise({
        try: () => writeFile(chart, renderChart(report, chartFormat)),
        catch: (error) =>
          new SimulateError({ message: `cannot write the chart ${chart}: ${error instanceof Error ? error.message : String(error)}` })
      })
    }
  })

const chartFormatOf = (file: string): "svg" | "html" | undefined =>
  file.endsWith(".svg") ? "svg" : file.endsWith(".html") ? "html" : undefined
