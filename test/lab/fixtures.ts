/** A small report written out by hand, for the renderers' tests: every field chosen, nothing run. */
import type { SimulationReport, StrategyReport } from "../../src/domain/sim/Report.ts"

export const strategyReport = (strategy: string, overrides: Partial<StrategyReport> = {}): StrategyReport => ({
  strategy,
  requests: 2_000,
  latencyMs: { p50: 20.04, p90: 52.25, p99: 110.2, max: 1_389.3 },
  errors: 3,
  errorPercent: 0.15,
  statuses: { "200": 1_997, "502": 3 },
  retries: 12,
  replays: 1,
  backends: [
    { name: "a", attempts: 1_006, sharePercent: 50.02, peakInFlight: 9 },
    { name: "slow", attempts: 1_005, sharePercent: 49.98, peakInFlight: 112 }
  ],
  transitions: [{ at: 5_020, backend: "slow", what: "circuit opened until 7.020s (trip 1): 3 failures" }],
  perSecond: [
    { second: 0, requests: 1_000, p50: 19.5, p99: 100.25, errorPercent: 0 },
    { second: 1, requests: 1_000, p50: 21, p99: 120, errorPercent: 0.3 }
  ],
  ...overrides
})

export const report = (strategies: ReadonlyArray<StrategyReport>, description?: string): SimulationReport => ({
  scenario: {
    file: "two.yaml",
    description,
    durationMs: 2_000,
    ratePerSecond: 1_000,
    arrivals: "poisson",
    clients: 100,
    postPercent: 10,
    hotClientPercent: 30,
    backends: [
      {
        name: "a",
        weight: 1,
        latency: "fixed 20ms",
        errorPercent: 0,
        resetPercent: 0.5,
        overloadPercent: 0,
        retryAfterMs: null,
        capacity: null,
        maxConnections: null,
        changes: []
      },
      {
        name: "slow",
        weight: 2,
        latency: "uniform 100ms-300ms",
        errorPercent: 1,
        resetPercent: 0,
        overloadPercent: 5,
        retryAfterMs: 1_000,
        capacity: 4,
        maxConnections: 50,
        changes: [{ atMs: 1_500, what: "down" }]
      }
    ]
  },
  seed: 7,
  strategies
})
