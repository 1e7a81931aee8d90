/**
 * Scenario files: decoded into the lab's model and a real config, or rejected with every problem
 * placed at its line and column, under its field path, saying what was expected.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { formatProblem } from "../../../src/domain/Errors.ts"
import { loadScenario } from "../../../src/domain/sim/ScenarioLoader.ts"
import type { Scenario } from "../../../src/domain/sim/ScenarioLoader.ts"

const ok = (text: string, env: Record<string, string> = {}): Scenario => {
  const result = loadScenario({ file: "s.yaml", text, env })
  if (Result.isFailure(result)) return assert.fail(result.failure.message)
  return result.success
}

/** Every problem as the CLI prints it, one line each. */
const problems = (text: string, env: Record<string, string> = {}): Array<string> => {
  const result = loadScenario({ file: "s.yaml", text, env })
  if (Result.isSuccess(result)) return assert.fail("expected the scenario to be rejected")
  return result.failure.problems.map((problem) => formatProblem("s.yaml", problem))
}

const examples = new URL("../../../examples/scenarios/", import.meta.url)

describe("scenario loading", () => {
  it("every example scenario loads", () => {
    const files = readdirSync(examples).filter((file) => file.endsWith(".yaml")).sort()
    assert.deepStrictEqual(files, [
      "dies-and-recovers.yaml",
      "heterogeneous-weights.yaml",
      "hot-key.yaml",
      "one-slow.yaml",
      "outlier-ejection.yaml",
      "retry-after.yaml",
      "retry-budget.yaml",
      "slow-start.yaml",
      "uniform.yaml"
    ])
    for (const file of files) {
      const result = loadScenario({ file, text: readFileSync(new URL(file, examples), "utf8"), env: {} })
      if (Result.isFailure(result)) assert.fail(result.failure.message)
    }
  })

  it("fills the defaults and builds a real config from the proxy settings and the backends' weights", () => {
    const scenario = ok(`
traffic: { duration: 1m, rate: 50 }
backends:
  - { name: a, latency: { fixed: 20ms }, weight: 3, maxConnections: 10 }
  - name: b
    latency: { lognormal: { mu: 3, sigma: 0.5 } }
    changes: [{ at: 30s, slowdown: 5 }, { at: 40s, down: true, errorPercent: 50 }]
proxy:
  retry: { attempts: 2 }
  healthCheck: { interval: 2s, timeout: 1s }
`)
    assert.deepStrictEqual(scenario.traffic, {
      durationMs: 60_000,
      ratePerSecond: 50,
      arrivals: "poisson",
      clients: 100,
      postFraction: 0,
      hotClientFraction: 0
    })
    assert.deepStrictEqual(scenario.backends[0], {
      name: "a",
      latency: { _tag: "Fixed", ms: 20 },
      errorFraction: 0,
      resetFraction: 0,
      overloadFraction: 0,
      retryAfterMs: 1_000,
      capacity: undefined,
      changes: []
    })
    assert.deepStrictEqual(scenario.backends[1]?.changes, [
      { atMs: 30_000, slowdown: 5 },
      { atMs: 40_000, errorFraction: 0.5, down: true }
    ])
    assert.deepStrictEqual(scenario.config.backends.map((b) => [b.name, b.weight, b.maxConnections]), [
      ["a", 3, 10],
      ["b", 1, undefined]
    ])
    assert.strictEqual(scenario.config.retry.attempts, 2)
    assert.strictEqual(scenario.config.healthCheck?.healthyThreshold, 2)
    assert.strictEqual(scenario.strategies, undefined)
  })

  it("a lognormal given by median and p99 has them where they should be", () => {
    const scenario = ok(`
traffic: { duration: 1s, rate: 1 }
backends: [{ name: a, latency: { lognormal: { median: 20ms, p99: 200ms } } }]
`)
    const latency = scenario.backends[0]?.latency
    if (latency?._tag !== "Lognormal") return assert.fail("expected a lognormal")
    assert.closeTo(Math.exp(latency.mu), 20, 1e-9)
    assert.closeTo(Math.exp(latency.mu + 2.3263478740408408 * latency.sigma), 200, 1e-9)
  })

  it("schema problems: each at its line and column, with its path and what was expected", () => {
    assert.deepStrictEqual(
      problems(`traffic:
  duration: 60
  rate: -5
  arivals: poisson
backends:
  - name: a
    latency: { fixed: 20 }
    errorPercent: 140
strategies: [round-robin, fastest]
`),
      [
        "s.yaml:2:13: traffic.duration: Expected string, got 60",
        "s.yaml:3:9: traffic.rate: Expected a value greater than 0, got -5",
        `s.yaml:4:3: traffic.arivals: Unknown key; expected one of: duration, rate, arrivals, clients, postPercent, hotClientPercent (did you mean "arrivals"?)`,
        "s.yaml:7:23: backends[0].latency.fixed: Expected string, got 20",
        "s.yaml:8:19: backends[0].errorPercent: Expected a percentage from 0 to 100",
        `s.yaml:9:27: strategies[1]: Expected "round-robin" | "weighted-round-robin" | "random" | "weighted-random" | ` +
        `"least-connections" | "least-ewma" | "least-dynamic-score" | "p2c-ewma" | "ip-hash" | "consistent-hash", got "fastest"`
      ]
    )
  })

  it("proxy settings and weights are checked by the config's own schema, and placed in the scenario", () => {
    assert.deepStrictEqual(
      problems(`traffic: { duration: 10s, rate: 10 }
backends:
  - name: a
    latency: { fixed: 20ms }
    weight: 0
  - name: "b c"
    latency: { fixed: 20ms }
proxy:
  retry:
    attempts: 0
  circuitBreaker: { resetTimeout: soon }
  server: { port: 80 }
`),
      [
        "s.yaml:5:13: backends[0].weight: Expected a value greater than or equal to 1, got 0",
        "s.yaml:6:11: backends[1].name: Expected a name of letters, digits, '.', '_', ':' or '-'",
        "s.yaml:10:15: proxy.retry.attempts: Expected a value between 1 and 10, got 0",
        `s.yaml:11:35: proxy.circuitBreaker.resetTimeout: Expected a duration such as "250ms", "5s", "1m" or "1h", got "soon"`,
        "s.yaml:12:3: proxy.server: Unknown key; expected one of: healthCheck, circuitBreaker, retry, timeouts, ewma, " +
        "consistentHash, outlierDetection, slowStart"
      ]
    )
  })

  it("rules between fields: one kind of latency, sensible percentiles and bounds, changes in time order, unique names", () => {
    assert.deepStrictEqual(
      problems(`traffic: { duration: 10s, rate: 10 }
backends:
  - name: a
    latency: { fixed: 20ms, uniform: { min: 1ms, max: 2ms } }
  - name: b
    latency: { lognormal: { median: 20ms, p99: 10ms } }
  - name: c
    latency: { uniform: { min: 20ms, max: 10ms } }
    changes:
      - { at: 30s, slowdown: 2 }
      - { at: 20s, down: true }
      - { at: 40s }
      - { at: 50s, overloadPercent: 95, errorPercent: 10 }
  - name: a
    latency: { lognormal: { median: 20ms, sigma: 1 } }
    errorPercent: 60
    resetPercent: 50
proxy:
  healthCheck: { interval: 1s }
`),
      [
        "s.yaml:4:14: backends[0].latency: Expected only one of fixed, uniform, lognormal or bimodal, got fixed and uniform",
        "s.yaml:6:48: backends[1].latency.lognormal.p99: Expected more than the median",
        "s.yaml:8:43: backends[2].latency.uniform.max: Expected at least min",
        "s.yaml:11:15: backends[2].changes[1].at: Expected changes in time order; this one is earlier than the one before",
        "s.yaml:12:9: backends[2].changes[2]: Expected slowdown, errorPercent, resetPercent, overloadPercent or down: what changes",
        "s.yaml:13:9: backends[2].changes[3]: Expected errorPercent + resetPercent + overloadPercent to be at most 100",
        `s.yaml:14:11: backends[3].name: Duplicate backend name "a" (also backends[0])`,
        "s.yaml:15:27: backends[3].latency.lognormal: Expected either median and p99, or mu and sigma (of the log of the latency in ms)",
        "s.yaml:17:19: backends[3].resetPercent: Expected errorPercent + resetPercent + overloadPercent to be at most 100",
        "s.yaml:19:16: proxy.healthCheck.timeout: Expected at most the interval: a probe must end before the next begins"
      ]
    )
  })

  it("an empty file, a list, bad YAML and unset variables are reported as such", () => {
    assert.deepStrictEqual(problems(""), ["s.yaml: the file is empty; expected `traffic:` and `backends:`"])
    assert.deepStrictEqual(problems("- 1\n"), [
      "s.yaml:1:1: Expected a mapping of keys (traffic, backends, proxy, ...) at the top level"
    ])
    assert.strictEqual(problems("traffic: {\n").length, 1)
    assert.match(problems("traffic: {\n")[0] ?? "", /^s\.yaml:\d+:\d+: YAML: /)
    assert.deepStrictEqual(
      problems("traffic:\n  duration: 10s\n  rate: ${RATE}\nbackends: [{ name: a, latency: { fixed: 1ms } }]\n"),
      [
        "s.yaml:3:9: traffic.rate: environment variable RATE is not set (referenced as ${RATE})"
      ]
    )
    assert.strictEqual(
      ok("traffic:\n  duration: 10s\n  rate: ${RATE}\nbackends: [{ name: a, latency: { fixed: 1ms } }]\n", {
        RATE: "25"
      }).traffic
        .ratePerSecond,
      25
    )
  })
})
