/** The replay's table, line by line, on a report written by hand: calibration first, warned when off. */
import { assert, describe, it } from "@effect/vitest"
import { calibrate } from "../../src/domain/sim/replay/Calibration.ts"
import type { ReplayReport } from "../../src/domain/sim/replay/ReplayReport.ts"
import { renderReplayTable } from "../../src/lab/ReplayText.ts"
import { report, strategyReport } from "./fixtures.ts"

const replayReport = (replayedP99: number): ReplayReport => {
  const observed = strategyReport("observed", { retries: 10, transitions: [] })
  const ran = strategyReport("round-robin (ran)", {
    latencyMs: { p50: 20.04, p90: 52.25, p99: replayedP99, max: 1_389.3 },
    transitions: []
  })
  const alternative = strategyReport("p2c-ewma", { transitions: [] })
  return {
    ...report([observed, ran, alternative]),
    replay: {
      traffic: "traffic.jsonl",
      journal: null,
      config: "config.yaml",
      pool: "default",
      requests: 2_000,
      skipped: 4,
      otherPools: [{ pool: "api", requests: 7 }],
      windowMs: 10_000,
      unseen: ["slow"]
    },
    calibration: calibrate(observed, ran)
  }
}

describe("replay table", () => {
  it("the log, the replay of what ran and their difference, then the alternatives", () => {
    const lines = renderReplayTable(replayReport(121.2)).split("\n")
    assert.deepStrictEqual(lines.slice(0, 3), [
      "replay of traffic.jsonl (config config.yaml), seed 7",
      "  pool default: 2000 requests over 2.00s from 100 clients; 4 never reached a backend; other pools not replayed: api (7)",
      "  backends as the log shows them (10s windows):"
    ])
    assert.deepStrictEqual(lines.slice(3, 5), [
      "    a: fixed 20ms, 0.5% failed",
      "    slow: no answers logged, the pool's uniform 100ms-300ms, 1% 5xx; down at 1.50s"
    ])
    const table = lines.slice(
      lines.indexOf(
        "(observed: the log's; the config that ran, replayed, and its difference: the calibration; then the alternatives)"
      ) + 1
    )
    assert.deepStrictEqual(table.slice(0, 6), [
      "                   p50 ms  p99 ms  errors  retries      a   slow",
      "observed             20.0   110.2   0.15%       10  50.0%  50.0%",
      "round-robin (ran)    20.0   121.2   0.15%       12  50.0%  50.0%",
      "  difference        ±0.0%  +10.0%   ±0.00   +20.0%   ±0.0   ±0.0",
      "p2c-ewma             20.0   110.2   0.15%       12  50.0%  50.0%",
      "observed shares count each request's last attempt, the only one the log has"
    ])
  })

  it("a calibration off by more than 25% on p99 says so, and why it may be, above the table", () => {
    const lines = renderReplayTable(replayReport(55.1)).split("\n")
    const warning = lines.findIndex((line) => line.startsWith("calibration is off"))
    assert.isAbove(warning, 0)
    assert.strictEqual(
      lines[warning],
      "calibration is off: the replayed p99 is -50.0% from the observed one (more than 25%), so read the alternatives with care; it may be that"
    )
    assert.match(lines[warning + 1] ?? "", /^ {2}- the replay's backends answer as the log shows at any load/)
    assert.match(lines[warning + 2] ?? "", /^ {2}- the time beyond a backend's answer/)
  })
})
