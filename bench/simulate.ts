/**
 * `npm run bench:simulate`: how long the strategy lab takes for one million requests through one
 * strategy (target: under 10 s). The scenario is a busy one: four backends, one of which dies at
 * 200 s and recovers at 300 s, health checks every second, the breaker and retries on, 500 s of
 * Poisson arrivals at 2,000 req/s. Each strategy named on the command line (default: p2c-ewma,
 * round-robin, consistent-hash) runs in the same process, one after the other; the figure is the
 * wall time of `runStrategy`, start-up and reporting excluded.
 */
import { Effect, Result } from "effect"
import { strategyNames } from "../src/domain/selection/Strategies.ts"
import type { StrategyName } from "../src/domain/selection/Strategies.ts"
import { loadScenario } from "../src/domain/sim/ScenarioLoader.ts"
import { runStrategy } from "../src/programs/Simulate.ts"

const scenarioText = `
traffic: { duration: 500s, rate: 2000, clients: 1000 }
backends:
  - { name: a, latency: { lognormal: { median: 20ms, p99: 120ms } }, capacity: 20 }
  - { name: b, latency: { lognormal: { median: 20ms, p99: 120ms } }, capacity: 20 }
  - { name: c, latency: { lognormal: { median: 20ms, p99: 120ms } }, capacity: 20 }
  - name: d
    latency: { lognormal: { median: 20ms, p99: 120ms } }
    capacity: 20
    changes: [{ at: 200s, down: true }, { at: 300s, down: false }]
proxy:
  healthCheck: { interval: 1s, timeout: 500ms }
  circuitBreaker: { failureThreshold: 5, resetTimeout: 5s }
  retry: { attempts: 3 }
`

const loaded = loadScenario({ file: "bench", text: scenarioText, env: {} })
if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
const scenario = loaded.success

const asked = process.argv.slice(2)
const known: ReadonlyArray<string> = strategyNames
const chosen = (asked.length > 0 ? asked : ["p2c-ewma", "round-robin", "consistent-hash"]).filter((name) => {
  if (!known.includes(name)) throw new Error(`unknown strategy ${name}; expected one of ${strategyNames.join(", ")}`)
  return true
}) as ReadonlyArray<StrategyName>

console.log("strategy            requests   seconds   requests/s")
for (const strategy of chosen) {
  const started = performance.now()
  const run = await Effect.runPromise(runStrategy(scenario, strategy, 1))
  const seconds = (performance.now() - started) / 1000
  const requests = run.results.recorder.samples().count
  console.log(
    `${strategy.padEnd(18)}${String(requests).padStart(10)}${seconds.toFixed(2).padStart(10)}${
      Math.round(requests / seconds).toLocaleString("en").padStart(13)
    }`
  )
}
