/**
 * One strategy through a workload (a scenario's, or a replayed log's): the lab (`domain/sim/Lab.ts`) and the virtual clock driven
 * together. This is the lab's edge, as `http/` is the proxy's: the requests are the lab's plain
 * function calls; what needs time (probes, the breaker's open periods, slow start's steps) runs
 * on the proxy's own fibers, on the `VirtualClock`, which is moved to each instant a timer is due
 * and to each instant health or a circuit changed. Between those, a million requests run without
 * a fiber switch.
 *
 * Randomness: three seeded streams of Effect's `Random` (`labSeeds`), for the traffic, the
 * backends' answers to retries, and the proxy (strategies, backoff jitter), so a scenario and a
 * seed give the same output byte for byte, and every strategy is given the same traffic. The
 * proxy's is the `Random` in context, so the layers built with it (the retry backoff) draw from it
 * too.
 */
import { Duration, Effect, Random, Stream } from "effect"
import { defaultPool } from "../domain/Backend.ts"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import { makeRetryBudget } from "../domain/retry/RetryBudget.ts"
import { makeRouting } from "../domain/routing/Routing.ts"
import type { LabResults, SimTime, Workload } from "../domain/sim/Lab.ts"
import { makeLab } from "../domain/sim/Lab.ts"
import type { Scenario } from "../domain/sim/ScenarioLoader.ts"
import { makeArrivals } from "../domain/sim/Traffic.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RetryBackoff } from "../services/RetryBackoff.ts"
import { VirtualClock } from "../services/VirtualClock.ts"

/** What a run of one strategy produced: the lab's measurements and the backends' transitions. */
export interface StrategyRun {
  /** The name the config gives it. */
  readonly strategy: string
  readonly results: LabResults
  /** Health and circuit transitions, at their simulated times. */
  readonly transitions: ReadonlyArray<BackendEvent>
}

/** The seeds of a run's three `Random` streams, from `--seed`. */
export const labSeeds = (seed: number) => ({
  traffic: `${seed}`,
  backends: `${seed}/backends`,
  proxy: `${seed}/proxy`
})

/** One seeded stream of Effect's `Random`. */
const randomStream = (seed: string) =>
  Effect.gen(function*() {
    return yield* Random.Random
  }).pipe(Random.withSeed(seed))

const isTransition = (event: BackendEvent): boolean =>
  event._tag === "HealthChanged" || event._tag === "CircuitOpened" || event._tag === "CircuitHalfOpened" ||
  event._tag === "CircuitClosed" || event._tag === "EjectionDeclined"

/** A scenario's backends and its generated traffic. */
export const scenarioWorkload = (scenario: Scenario): Workload => ({
  backends: scenario.backends,
  clients: scenario.traffic.clients,
  expectedRequests: scenario.traffic.durationMs * scenario.traffic.ratePerSecond / 1000,
  arrivals: (random) => makeArrivals(scenario.traffic, random)
})

/**
 * The workload through the proxy in context, whose config names the strategy. Wants a fresh
 * registry and clock: what a run finds in them at the start is part of its result.
 */
export const runLab = Effect.fn("StrategyLab.run")(function*(workload: Workload, seed: number) {
  const clock = yield* VirtualClock
  const registry = yield* BackendRegistry
  const backoff = yield* RetryBackoff
  const config = yield* ProxyConfig
  const proxyRandom = yield* Random.Random
  const seeds = labSeeds(seed)
  const trafficRandom = yield* randomStream(seeds.traffic)
  const serviceRandom = yield* randomStream(seeds.backends)

  const transitions: Array<BackendEvent> = []
  yield* Stream.fromSubscription(yield* registry.subscribe()).pipe(
    Stream.runForEach((event) => Effect.sync(() => isTransition(event) && transitions.push(event))),
    Effect.forkScoped
  )

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
    backends: workload.backends,
    arrivals: workload.arrivals(() => trafficRandom.nextDoubleUnsafe()),
    clients: workload.clients,
    expectedRequests: workload.expectedRequests,
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
  return { strategy: config.strategy, results: lab.results(), transitions } satisfies StrategyRun
}, Effect.scoped)
