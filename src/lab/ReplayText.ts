/**
 * A replay's report as a table: what was read, the fitted backends, then one table of what the
 * log observed, the replay of the config that ran with its difference from the observed (the
 * calibration), and the alternatives below; a warning first when the calibration is off.
 * Rendering only: the numbers are the report's (`domain/sim/replay/ReplayReport.ts`).
 */
import type { Compared } from "../domain/sim/replay/Calibration.ts"
import { p99Tolerance } from "../domain/sim/replay/Calibration.ts"
import type { ReplayReport } from "../domain/sim/replay/ReplayReport.ts"
import { formatMs } from "../domain/sim/Report.ts"
import { fixed, table, transitionsSection } from "./ReportText.ts"

const signed = (value: number, digits: number, unit: string): string =>
  `${value > 0 ? "+" : value < 0 ? "" : "±"}${fixed(value, digits)}${unit}`

const relative = (compared: Compared): string => signed(compared.difference, 1, "%")

/** Times in the log's run, to the hundredth of a second: enough to place a change. */
const seconds = (ms: number): string => `${fixed(ms / 1000, 2)}s`

const header = (report: ReplayReport): ReadonlyArray<string> => {
  const { replay, scenario } = report
  const sources = [
    ...(replay.journal === null ? [] : [`journal ${replay.journal}`]),
    `config ${replay.config}`
  ].join(", ")
  const others = replay.otherPools.map((other) => `${other.pool} (${other.requests})`).join(", ")
  return [
    `replay of ${replay.traffic} (${sources}), seed ${report.seed}`,
    `  pool ${replay.pool}: ${report.strategies[0]?.requests ?? 0} requests over ${seconds(scenario.durationMs)} from ${
      scenario.clients === 1 ? "1 client" : `${scenario.clients} clients`
    }${replay.skipped > 0 ? `; ${replay.skipped} never reached a backend` : ""}${
      others === "" ? "" : `; other pools not replayed: ${others}`
    }`,
    `  backends as the log shows them (${formatMs(replay.windowMs)} windows):`,
    ...scenario.backends.map((backend) =>
      [
        `    ${backend.name}: ${
          replay.unseen.includes(backend.name) ? "no answers logged, the pool's " : ""
        }${backend.latency}`,
        backend.errorPercent > 0 ? `, ${backend.errorPercent}% 5xx` : "",
        backend.resetPercent > 0 ? `, ${backend.resetPercent}% failed` : "",
        ...backend.changes.map((change) => `; ${change.what} at ${seconds(change.atMs)}`)
      ].join("")
    )
  ]
}

export const renderReplayTable = (report: ReplayReport): string => {
  const { calibration } = report
  const names = report.scenario.backends.map((backend) => backend.name)
  const row = (s: ReplayReport["strategies"][number]) => [
    s.strategy,
    fixed(s.latencyMs.p50, 1),
    fixed(s.latencyMs.p99, 1),
    `${fixed(s.errorPercent, 2)}%`,
    String(s.retries),
    ...names.map((name) => `${fixed(s.backends.find((backend) => backend.name === name)?.sharePercent ?? 0, 1)}%`)
  ]
  const [observed, ran, ...alternatives] = report.strategies
  const difference = [
    "  difference",
    relative(calibration.p50Ms),
    relative(calibration.p99Ms),
    signed(calibration.errorPercent.difference, 2, ""),
    relative(calibration.retries),
    ...names.map((name) =>
      signed(calibration.sharePercent.find((share) => share.backend === name)?.difference ?? 0, 1, "")
    )
  ]
  const rows = [
    ["", "p50 ms", "p99 ms", "errors", "retries", ...names],
    ...(observed === undefined ? [] : [row(observed)]),
    ...(ran === undefined ? [] : [row(ran), difference]),
    ...alternatives.map(row)
  ]
  const warning = calibration.p99Off
    ? [
      `calibration is off: the replayed p99 is ${relative(calibration.p99Ms)} from the observed one (more than ${
        100 * p99Tolerance
      }%), so read the alternatives with care; it may be that`,
      ...calibration.reasons.map((reason) => `  - ${reason}`),
      ""
    ]
    : []
  return [
    ...header(report),
    "",
    "latency from arrival to answer, retries included; share of attempts per backend",
    "(observed: the log's; the config that ran, replayed, and its difference: the calibration; then the alternatives)",
    ...warning,
    table(rows, (column) => column > 0),
    "observed shares count each request's last attempt, the only one the log has",
    // The alternatives' own transitions are in the JSON: here, what happened and its replay.
    ...transitionsSection(report.strategies.slice(0, 2))
  ].join("\n")
}
