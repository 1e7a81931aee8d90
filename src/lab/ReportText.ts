/**
 * The lab's report as text: a table for people (the scenario, then latency, shares and
 * transitions per strategy, aligned in columns) and JSON for tools (the report as it is, every
 * transition and the per-second series included). Rendering only: the numbers are the report's
 * (`domain/sim/Report.ts`), already rounded.
 */
import type { SimulationReport } from "../domain/sim/Report.ts"
import { formatMs } from "../domain/sim/Report.ts"

export const renderJson = (report: SimulationReport): string => JSON.stringify(report, null, 2)

export const fixed = (value: number, digits: number) => value.toFixed(digits)

/** Rows in aligned columns, two spaces apart. */
export const table = (
  rows: ReadonlyArray<ReadonlyArray<string>>,
  rightAligned: (column: number) => boolean
): string => {
  const widths = rows.reduce<Array<number>>(
    (acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, cell.length)),
    []
  )
  return rows
    .map((row) =>
      row.map((cell, i) => rightAligned(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)).join("  ")
        .trimEnd()
    )
    .join("\n")
}

/** How many transitions the table lists per strategy; the JSON has all of them. */
const transitionsShown = 12

type BackendLine = SimulationReport["scenario"]["backends"][number]

/** A backend as the scenario describes it, naming only what differs from the defaults. */
const backendLine = (backend: BackendLine): string =>
  [
    `  ${backend.name}: ${backend.latency}`,
    backend.weight === 1 ? "" : `, weight ${backend.weight}`,
    backend.capacity === null ? "" : `, capacity ${backend.capacity}`,
    backend.maxConnections === null ? "" : `, maxConnections ${backend.maxConnections}`,
    backend.errorPercent > 0 ? `, ${backend.errorPercent}% errors` : "",
    backend.resetPercent > 0 ? `, ${backend.resetPercent}% resets` : "",
    backend.overloadPercent > 0 ? `, ${backend.overloadPercent}% overloaded` : "",
    backend.retryAfterMs === null ? "" : `, Retry-After ${formatMs(backend.retryAfterMs)}`,
    ...backend.changes.map((change) => `; at ${formatMs(change.atMs)} ${change.what}`)
  ].join("")

export const renderTable = (report: SimulationReport): string => {
  const { scenario } = report
  const requests = report.strategies[0]?.requests ?? 0
  const traffic = [
    `  traffic: ${formatMs(scenario.durationMs)} of ${scenario.arrivals} arrivals`,
    ` at ${scenario.ratePerSecond} req/s from ${scenario.clients} clients`,
    scenario.postPercent > 0 ? `, ${scenario.postPercent}% POST` : "",
    scenario.hotClientPercent > 0 ? `, ${scenario.hotClientPercent}% from one hot client` : "",
    ` (${requests} requests)`
  ].join("")
  const header = [
    `scenario ${scenario.file}, seed ${report.seed}`,
    ...(scenario.description === undefined ? [] : [`  ${scenario.description}`]),
    traffic,
    ...scenario.backends.map(backendLine)
  ]
  const latency = table([
    ["strategy", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "retries"],
    ...report.strategies.map((s) => [
      s.strategy,
      fixed(s.latencyMs.p50, 1),
      fixed(s.latencyMs.p90, 1),
      fixed(s.latencyMs.p99, 1),
      fixed(s.latencyMs.max, 1),
      `${fixed(s.errorPercent, 2)}%`,
      String(s.retries)
    ])
  ], (column) => column > 0)
  const names = scenario.backends.map((backend) => backend.name)
  const shares = table([
    ["strategy", ...names],
    ...report.strategies.map((s) => [
      s.strategy,
      ...s.backends.map((backend) => `${fixed(backend.sharePercent, 1)}% (${backend.peakInFlight})`)
    ])
  ], (column) => column > 0)
  const transitions = transitionsSection(report.strategies)
  return [
    header.join("\n"),
    "",
    "latency from arrival to answer, retries included",
    latency,
    "",
    "share of attempts (peak in-flight)",
    shares,
    ...transitions
  ].join("\n")
}

/** The health and circuit transitions of each run that had some, a few each; none: nothing. */
export const transitionsSection = (strategies: SimulationReport["strategies"]): ReadonlyArray<string> => {
  const withTransitions = strategies.filter((s) => s.transitions.length > 0)
  const transitions = withTransitions.map((s) => {
    const shown = s.transitions.slice(0, transitionsShown).map((t) =>
      `  ${fixed(t.at / 1000, 3).padStart(9)}s  ${t.backend}  ${t.what}`
    )
    const more = s.transitions.length - shown.length
    return [s.strategy, ...shown, ...(more > 0 ? [`  ... and ${more} more (--format json lists them all)`] : [])].join(
      "\n"
    )
  })
  return transitions.length > 0 ? ["", "health and circuit transitions", transitions.join("\n")] : []
}
