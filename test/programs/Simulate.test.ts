/**
 * The strategy lab end to end, in process: the real registry, strategies, health supervision,
 * breaker and retries on simulated backends under a virtual clock. Results are checked against
 * what can be worked out by hand: exact shares, exact transition times, exact statuses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import type { StrategyReport } from "../../src/domain/sim/Report.ts"
import { loadScenario } from "../../src/domain/sim/ScenarioLoader.ts"
import type { Scenario } from "../../src/domain/sim/ScenarioLoader.ts"
import { renderChart } from "../../src/lab/Chart.ts"
import { renderJson, renderTable } from "../../src/lab/ReportText.ts"
import { runStrategy, simulateScenario } from "../../src/programs/Simulate.ts"
import type { StrategyRun } from "../../src/programs/Simulate.ts"

const scenario = (text: string): Scenario => {
  const loaded = loadScenario({ file: "test.yaml", text, env: {} })
  if (Result.isFailure(loaded)) return assert.fail(loaded.failure.message)
  return loaded.success
}

const only = (report: { readonly strategies: ReadonlyArray<StrategyReport> }): StrategyReport => {
  const [first] = report.strategies
  if (first === undefined) return assert.fail("no strategy was run")
  return first
}

/** A transition as `at what`, for comparing with times worked out by hand. */
const atWhat = (event: BackendEvent): string => {
  switch (event._tag) {
    case "HealthChanged":
      return `${event.at} ${event.healthy ? "healthy" : "unhealthy"}`
    case "CircuitOpened":
      return `${event.at} opened until ${event.until}`
    default:
      return `${event.at} ${event._tag}`
  }
}

/** How many requests got each status. */
const statusCounts = (run: StrategyRun): Map<number, number> => {
  const samples = run.results.recorder.samples()
  const counts = new Map<number, number>()
  for (let i = 0; i < samples.count; i++) {
    counts.set(samples.status[i] ?? 0, (counts.get(samples.status[i] ?? 0) ?? 0) + 1)
  }
  return counts
}

const shareOf = (report: StrategyReport, name: string): number =>
  report.backends.find((backend) => backend.name === name)?.sharePercent ?? Number.NaN

const mixed = scenario(`
description: a mixed pool, so every part of the output has something in it
traffic: { duration: 20s, rate: 200, clients: 50, postPercent: 10 }
backends:
  - { name: a, latency: { lognormal: { median: 20ms, p99: 90ms } }, errorPercent: 1, resetPercent: 1 }
  - name: b
    latency: { bimodal: { fast: { fixed: 5ms }, slow: { uniform: { min: 100ms, max: 300ms } }, slowPercent: 10 } }
    capacity: 5
    changes: [{ at: 5s, down: true }, { at: 12s, down: false }]
  - { name: c, latency: { uniform: { min: 10ms, max: 40ms } }, weight: 2, changes: [{ at: 8s, slowdown: 4 }] }
proxy:
  healthCheck: { interval: 1s, timeout: 500ms }
  circuitBreaker: { failureThreshold: 3, resetTimeout: 2s }
  retry: { budget: { percent: 20 } }
`)

describe("switchyard simulate", () => {
  it.effect("the same scenario and seed give byte-identical output; another seed does not", () =>
    Effect.gen(function*() {
      const strategies = ["round-robin", "p2c-ewma", "consistent-hash"] as const
      const first = yield* simulateScenario("test.yaml", mixed, strategies, 7)
      const second = yield* simulateScenario("test.yaml", mixed, strategies, 7)
      assert.strictEqual(renderJson(second), renderJson(first))
      assert.strictEqual(renderTable(second), renderTable(first))
      assert.strictEqual(renderChart(second, "svg"), renderChart(first, "svg"))
      assert.strictEqual(renderChart(second, "html"), renderChart(first, "html"))
      const other = yield* simulateScenario("test.yaml", mixed, strategies, 8)
      assert.notStrictEqual(renderJson(other), renderJson(first))
    }))

  it.effect("every strategy gets the same traffic", () =>
    Effect.gen(function*() {
      const report = yield* simulateScenario("test.yaml", mixed, ["round-robin", "least-connections", "ip-hash"], 3)
      const counts = report.strategies.map((s) => s.requests)
      assert.deepStrictEqual(counts, [counts[0], counts[0], counts[0]])
      assert.isAbove(counts[0] ?? 0, 3_500)
    }))

  it.effect("round-robin gives each of n equal backends exactly 1/n of the requests", () =>
    Effect.gen(function*() {
      const equal = scenario(`
traffic: { duration: 10s, rate: 100, arrivals: fixed }
backends:
  - { name: a, latency: { lognormal: { median: 20ms, p99: 200ms } } }
  - { name: b, latency: { lognormal: { median: 20ms, p99: 200ms } } }
  - { name: c, latency: { lognormal: { median: 20ms, p99: 200ms } } }
  - { name: d, latency: { lognormal: { median: 20ms, p99: 200ms } } }
`)
      const report = only(yield* simulateScenario("equal.yaml", equal, ["round-robin"], 1))
      assert.strictEqual(report.requests, 1_000)
      assert.deepStrictEqual(report.backends.map((b) => [b.name, b.attempts, b.sharePercent]), [
        ["a", 250, 25],
        ["b", 250, 25],
        ["c", 250, 25],
        ["d", 250, 25]
      ])
    }))

  it.effect("with one backend ten times slower, least-ewma and p2c-ewma send it under 10%", () =>
    Effect.gen(function*() {
      const oneSlow = scenario(`
traffic: { duration: 60s, rate: 200 }
backends:
  - { name: a, latency: { lognormal: { median: 20ms, p99: 80ms } } }
  - { name: b, latency: { lognormal: { median: 20ms, p99: 80ms } } }
  - { name: c, latency: { lognormal: { median: 20ms, p99: 80ms } } }
  - { name: slow, latency: { lognormal: { median: 200ms, p99: 800ms } } }
`)
      const report = yield* simulateScenario("one-slow.yaml", oneSlow, ["least-ewma", "p2c-ewma", "round-robin"], 1)
      const [leastEwma, p2c, roundRobin] = report.strategies
      assert.isBelow(leastEwma === undefined ? 100 : shareOf(leastEwma, "slow"), 10)
      assert.isBelow(p2c === undefined ? 100 : shareOf(p2c, "slow"), 10)
      assert.strictEqual(roundRobin === undefined ? 0 : shareOf(roundRobin, "slow"), 25)
    }))

  it.effect("a backend that dies and recovers: health and circuit change at the simulated times the settings imply", () =>
    Effect.gen(function*() {
      // One backend, a request every 10 ms taking 5 ms, probes every second from 0. It dies at
      // 10 s: the requests at 10.000, 10.010 and 10.020 s are refused, so the third failure opens
      // the circuit at 10.020 s for 4 s; the probes at 10, 11 and 12 s fail, so it is unhealthy
      // from 12 s; the breaker's timer half-opens it at 14.020 s. It is back at 20 s: the probes
      // at 20 and 21 s succeed, so it is healthy from 21 s; the request at 21 s is the trial,
      // answered at 21.005 s, which closes the circuit.
      const dies = scenario(`
traffic: { duration: 30s, rate: 100, arrivals: fixed }
backends:
  - name: a
    latency: { fixed: 5ms }
    changes: [{ at: 10s, down: true }, { at: 20s, down: false }]
proxy:
  healthCheck: { interval: 1s, timeout: 500ms, unhealthyThreshold: 3, healthyThreshold: 2 }
  circuitBreaker: { failureThreshold: 3, resetTimeout: 4s }
`)
      const run = yield* runStrategy(dies, "round-robin", 1)
      assert.deepStrictEqual(run.transitions.map(atWhat), [
        "10020 opened until 14020",
        "12000 unhealthy",
        "14020 CircuitHalfOpened",
        "21000 healthy",
        "21005 CircuitClosed"
      ])
      // Refused, with nowhere else to retry: 502; then no backend to send to at all: 503.
      const statuses = statusCounts(run)
      assert.strictEqual(statuses.get(502), 3)
      assert.strictEqual(statuses.get(503), 1_100 - 3)
      assert.strictEqual(statuses.get(200), 3_000 - 1_100)
    }))

  it.effect("a POST in flight when its backend dies gets a 502 and is never sent again; a GET is retried elsewhere", () =>
    Effect.gen(function*() {
      // Round-robin over two backends, a request every 10 ms taking 40 ms: when b dies at 1.005 s
      // it has exactly two requests in flight.
      const withPosts = (percent: number) =>
        scenario(`
traffic: { duration: 3s, rate: 100, arrivals: fixed, postPercent: ${percent} }
backends:
  - { name: a, latency: { fixed: 40ms } }
  - { name: b, latency: { fixed: 40ms }, changes: [{ at: 1005ms, down: true }] }
`)
      const gets = only(yield* simulateScenario("gets.yaml", withPosts(0), ["round-robin"], 1))
      const posts = only(yield* simulateScenario("posts.yaml", withPosts(100), ["round-robin"], 1))
      assert.deepStrictEqual(gets.statuses, { "200": 300 })
      assert.deepStrictEqual(posts.statuses, { "200": 298, "502": 2 })
      // The GETs were replayed on b (refused: nothing reached it) and retried on a.
      assert.strictEqual(gets.replays, 2)
      assert.isAtLeast(gets.retries, 2)
      assert.strictEqual(posts.replays, 0)
    }))

  it.effect("an overloaded backend's 503 with Retry-After is relayed, and honoured: nothing is sent to it for the pause", () =>
    Effect.gen(function*() {
      // Requests every 10 ms alternate between a and b; from 10 s on, a sheds everything at once
      // (1 ms) with Retry-After: 2. The request at 10.000 s gets the first 503 at 10.001 s: a is
      // held off until 12.001 s, then half-open; the trial at 12.010 s is shed too, which is a
      // second trip: open for twice resetTimeout. Without honorRetryAfter, five 503s in a row
      // are needed to open the circuit.
      const overloaded = (honour: boolean) =>
        scenario(`
traffic: { duration: 20s, rate: 100, arrivals: fixed }
backends:
  - { name: a, latency: { fixed: 5ms }, retryAfter: 2s, changes: [{ at: 10s, overloadPercent: 100 }] }
  - { name: b, latency: { fixed: 5ms } }
proxy:
  circuitBreaker: { failureThreshold: 5, resetTimeout: 4s }
  retry: { maxDelay: 5s, honorRetryAfter: ${honour} }
`)
      const honoured = yield* runStrategy(overloaded(true), "round-robin", 1)
      assert.deepStrictEqual(honoured.transitions.map(atWhat), [
        "10001 opened until 12001",
        "12001 CircuitHalfOpened",
        "12011 opened until 20011"
      ])
      assert.strictEqual(statusCounts(honoured).get(503), 2)
      const ignored = yield* runStrategy(overloaded(false), "round-robin", 1)
      assert.deepStrictEqual(ignored.transitions.map(atWhat).slice(0, 1), ["10081 opened until 14081"])
      assert.strictEqual(statusCounts(ignored).get(503), 5 + 1)
    }))

  it.effect("a hot client: ip-hash gives its backend its whole share; bounded-load consistent hashing spreads the overflow", () =>
    Effect.gen(function*() {
      const hot = scenario(`
traffic: { duration: 20s, rate: 400, clients: 1000, hotClientPercent: 50 }
backends:
  - { name: a, latency: { fixed: 20ms } }
  - { name: b, latency: { fixed: 20ms } }
  - { name: c, latency: { fixed: 20ms } }
  - { name: d, latency: { fixed: 20ms } }
proxy:
  consistentHash: { balanceFactor: 125 }
`)
      const report = yield* simulateScenario("hot.yaml", hot, ["ip-hash", "consistent-hash"], 1)
      const hottest = (strategy: StrategyReport) =>
        Math.max(...strategy.backends.map((backend) => backend.sharePercent))
      const [ipHash, bounded] = report.strategies
      if (ipHash === undefined || bounded === undefined) return assert.fail("both strategies run")
      assert.isAtLeast(hottest(ipHash), 50)
      assert.isBelow(hottest(bounded), 40)
    }))
})
