/**
 * The report drawn: latency over simulated time, one small panel per strategy on shared axes
 * (so panels compare at a glance), each with the per-second p50 and p99 on a log scale (tails
 * are orders of magnitude above medians), the share of failed requests as red bars along the
 * bottom, and dashed lines where a backend changed. A self-contained SVG, or an HTML page with
 * the SVG and the table; no scripts, no external resources, the same bytes for the same report.
 */
import type { SimulationReport, StrategyReport } from "../domain/sim/Report.ts"
import { renderTable } from "./ReportText.ts"

const panelWidth = 440
const panelHeight = 170
const margin = { left: 52, right: 12, top: 26, bottom: 26 }
const columns = 2
const titleHeight = 70

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const n = (value: number): string => value.toFixed(1)

/** Log-scale ticks 1-2-5 per decade, covering `[low, high]`. */
const ticksBetween = (low: number, high: number): ReadonlyArray<number> => {
  const ticks: Array<number> = []
  for (let decade = Math.floor(Math.log10(low)); decade <= Math.ceil(Math.log10(high)); decade++) {
    for (const step of [1, 2, 5]) {
      const tick = step * 10 ** decade
      if (tick >= low && tick <= high) ticks.push(Number(tick.toPrecision(1)))
    }
  }
  return ticks
}

const tickLabel = (ms: number): string => ms >= 1000 ? `${ms / 1000}s` : ms >= 1 ? `${ms}ms` : `${ms}`

interface Scale {
  readonly x: (second: number) => number
  readonly y: (ms: number) => number
  readonly low: number
  readonly high: number
}

const scaleFor = (report: SimulationReport): Scale => {
  const values = report.strategies.flatMap((s) =>
    s.perSecond.flatMap((second) => second.requests > 0 ? [second.p50, second.p99] : [])
  )
  const positive = values.filter((value) => value > 0)
  const low = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...positive))))
  const high = 10 ** Math.ceil(Math.log10(Math.max(...positive, low * 10)))
  const seconds = Math.max(1, report.scenario.durationMs / 1000)
  const plotWidth = panelWidth - margin.left - margin.right
  const plotHeight = panelHeight - margin.top - margin.bottom
  return {
    low,
    high,
    x: (second) => margin.left + (second / seconds) * plotWidth,
    y: (ms) => {
      const clamped = Math.min(high, Math.max(low, ms))
      return margin.top +
        plotHeight * (1 - (Math.log10(clamped) - Math.log10(low)) / (Math.log10(high) - Math.log10(low)))
    }
  }
}

const line = (strategy: StrategyReport, scale: Scale, pick: (p50: number, p99: number) => number): string =>
  strategy.perSecond
    .filter((second) => second.requests > 0)
    .map((second, i) =>
      `${i === 0 ? "M" : "L"}${n(scale.x(second.second + 0.5))},${n(scale.y(pick(second.p50, second.p99)))}`
    )
    .join("")

const panel = (report: SimulationReport, strategy: StrategyReport, index: number, scale: Scale): string => {
  const left = (index % columns) * panelWidth
  const top = titleHeight + Math.floor(index / columns) * panelHeight
  const bottom = panelHeight - margin.bottom
  const right = panelWidth - margin.right
  const seconds = report.scenario.durationMs / 1000
  const grid = ticksBetween(scale.low, scale.high).map((tick) =>
    `<line x1="${margin.left}" x2="${right}" y1="${n(scale.y(tick))}" y2="${n(scale.y(tick))}" class="grid"/>` +
    `<text x="${margin.left - 4}" y="${n(scale.y(tick) + 3)}" class="tick" text-anchor="end">${tickLabel(tick)}</text>`
  )
  const timeStep = Math.max(1, 10 ** Math.floor(Math.log10(Math.max(1, seconds / 2))))
  const timeTicks = Array.from({ length: Math.floor(seconds / timeStep) + 1 }, (_, i) => i * timeStep).map((second) =>
    `<text x="${n(scale.x(second))}" y="${bottom + 14}" class="tick" text-anchor="middle">${second}s</text>`
  )
  const changes = report.scenario.backends
    .flatMap((backend) => backend.changes.map((change) => ({ ...change, backend: backend.name })))
    .map((change, k) => {
      const x = n(scale.x(change.atMs / 1000))
      return `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${bottom}" class="change"/>` +
        `<text x="${n(scale.x(change.atMs / 1000) + 2)}" y="${margin.top + 10 + (k % 2) * 10}" class="change-label">${
          escape(`${change.backend} ${change.what}`)
        }</text>`
    })
  const barWidth = Math.max(0.5, scale.x(1) - scale.x(0) - 0.5)
  const errorBars = strategy.perSecond.filter((second) => second.errorPercent > 0).map((second) => {
    const height = Math.max(1, (second.errorPercent / 100) * 30)
    return `<rect x="${n(scale.x(second.second))}" y="${n(bottom - height)}" width="${n(barWidth)}" height="${
      n(height)
    }" class="errors"/>`
  })
  return [
    `<g transform="translate(${left},${top})">`,
    `<text x="6" y="14" class="panel-title">${escape(strategy.strategy)}</text>`,
    `<text x="${right}" y="14" class="panel-note" text-anchor="end">p50 ${strategy.latencyMs.p50.toFixed(1)}ms, p99 ${
      strategy.latencyMs.p99.toFixed(1)
    }ms, errors ${strategy.errorPercent.toFixed(2)}%</text>`,
    ...grid,
    ...timeTicks,
    ...errorBars,
    ...changes,
    `<path d="${line(strategy, scale, (p50) => p50)}" class="p50"/>`,
    `<path d="${line(strategy, scale, (_, p99) => p99)}" class="p99"/>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${right - margin.left}" height="${
      bottom - margin.top
    }" class="frame"/>`,
    `</g>`
  ].join("\n")
}

const style = [
  "text{font-family:system-ui,sans-serif;fill:#222}",
  ".title{font-size:15px;font-weight:600}.subtitle{font-size:12px;fill:#555}",
  ".panel-title{font-size:13px;font-weight:600}.panel-note{font-size:11px;fill:#555}",
  ".tick{font-size:10px;fill:#666}.grid{stroke:#e6e6e6}.frame{fill:none;stroke:#bbb}",
  ".p50{fill:none;stroke:#1f6feb;stroke-width:1.5}.p99{fill:none;stroke:#d97706;stroke-width:1.5}",
  ".errors{fill:#dc2626;opacity:.7}.change{stroke:#888;stroke-dasharray:3 3}.change-label{font-size:9px;fill:#666}",
  ".legend{font-size:11px}"
].join("")

export const renderSvg = (report: SimulationReport): string => {
  const scale = scaleFor(report)
  const rows = Math.ceil(report.strategies.length / columns)
  const width = panelWidth * Math.min(columns, Math.max(1, report.strategies.length))
  const height = titleHeight + rows * panelHeight
  const { scenario } = report
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>${style}</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" class="title">${escape(`switchyard simulate ${scenario.file} (seed ${report.seed})`)}</text>`,
    `<text x="12" y="38" class="subtitle">${
      escape(scenario.description ?? `${scenario.ratePerSecond} req/s for ${scenario.durationMs / 1000}s`)
    }</text>`,
    `<g class="legend" transform="translate(12,56)">`,
    `<line x1="0" x2="18" y1="0" y2="0" class="p50"/><text x="22" y="4">p50</text>`,
    `<line x1="56" x2="74" y1="0" y2="0" class="p99"/><text x="78" y="4">p99</text>`,
    `<rect x="112" y="-5" width="10" height="10" class="errors"/><text x="126" y="4">errors / s</text>`,
    `</g>`,
    ...report.strategies.map((strategy, index) => panel(report, strategy, index, scale)),
    `</svg>`
  ].join("\n") + "\n"
}

export const renderHtml = (report: SimulationReport): string =>
  [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${
      escape(`switchyard simulate ${report.scenario.file}`)
    }</title>`,
    "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}pre{font-size:12px;background:#f6f8fa;padding:12px;overflow:auto}</style>",
    "</head><body>",
    renderSvg(report),
    `<pre>${escape(renderTable(report))}</pre>`,
    "</body></html>",
    ""
  ].join("\n")

export const renderChart = (report: SimulationReport, format: "svg" | "html"): string =>
  format === "svg" ? renderSvg(report) : renderHtml(report)
