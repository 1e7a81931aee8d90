/**
 * The lab's report as text: the table's exact lines (the scenario, then columns aligned with
 * numbers right-aligned at fixed decimals), its cap on transitions, and JSON that is the report.
 */
import { assert, describe, it } from "@effect/vitest"
import { renderJson, renderTable } from "../../src/lab/ReportText.ts"
import { report, strategyReport } from "./fixtures.ts"

const quiet = strategyReport("p2c-ewma", {
  latencyMs: { p50: 9.96, p90: 10, p99: 1_000.04, max: 12_345.678 },
  errorPercent: 0,
  retries: 0,
  transitions: []
})

describe("the report as text", () => {
  it("the table gives the scenario, then latency, shares and transitions in aligned columns", () => {
    assert.strictEqual(
      renderTable(report([strategyReport("round-robin"), quiet], "two backends")),
      [
        "scenario two.yaml, seed 7",
        "  two backends",
        "  traffic: 2s of poisson arrivals at 1000 req/s from 100 clients, 10% POST, 30% from one hot client (2000 requests)",
        "  a: fixed 20ms, 0.5% resets",
        "  slow: uniform 100ms-300ms, weight 2, capacity 4, maxConnections 50, 1% errors, 5% overloaded, Retry-After 1s; at 1500ms down",
        "",
        "latency from arrival to answer, retries included",
        "strategy     p50 ms  p90 ms  p99 ms   max ms  errors  retries",
        "round-robin    20.0    52.3   110.2   1389.3   0.15%       12",
        "p2c-ewma       10.0    10.0  1000.0  12345.7   0.00%        0",
        "",
        "share of attempts (peak in-flight)",
        "strategy             a         slow",
        "round-robin  50.0% (9)  50.0% (112)",
        "p2c-ewma     50.0% (9)  50.0% (112)",
        "",
        "health and circuit transitions",
        "round-robin",
        "      5.020s  slow  circuit opened until 7.020s (trip 1): 3 failures"
      ].join("\n")
    )
  })

  it("without transitions or a description, the table has neither section", () => {
    const text = renderTable(report([quiet]))
    assert.strictEqual(
      text.split("\n")[1],
      "  traffic: 2s of poisson arrivals at 1000 req/s from 100 clients, 10% POST, 30% from one hot client (2000 requests)"
    )
    assert.notInclude(text, "health and circuit transitions")
  })

  it("the table lists a strategy's first 12 transitions and says how many more the JSON has", () => {
    const transitions = Array.from({ length: 15 }, (_, i) => ({ at: 1_000 * i, backend: "a", what: "circuit closed" }))
    const lines = renderTable(report([strategyReport("round-robin", { transitions })])).split("\n")
    const section = lines.slice(lines.indexOf("health and circuit transitions") + 1)
    assert.deepStrictEqual(section, [
      "round-robin",
      ...transitions.slice(0, 12).map((t) => `  ${(t.at / 1000).toFixed(3).padStart(9)}s  a  circuit closed`),
      "  ... and 3 more (--format json lists them all)"
    ])
  })

  it("the JSON is the report itself, every field and transition", () => {
    const full = report([strategyReport("round-robin"), quiet], "two backends")
    assert.deepStrictEqual(JSON.parse(renderJson(full)), full)
  })
})
