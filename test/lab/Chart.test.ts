/**
 * The report drawn: one panel per strategy, two to a row, on shared axes; the scenario's text
 * escaped; the HTML page is the SVG and the table.
 */
import { assert, describe, it } from "@effect/vitest"
import { renderChart, renderHtml, renderSvg } from "../../src/lab/Chart.ts"
import { renderTable } from "../../src/lab/ReportText.ts"
import { report, strategyReport } from "./fixtures.ts"

const three = report([strategyReport("round-robin"), strategyReport("p2c-ewma"), strategyReport("ip-hash")], "a & b")

const count = (text: string, part: string) => text.split(part).length - 1

describe("the chart", () => {
  it("draws one panel per strategy, two to a row, each with its p50 and p99 line", () => {
    const svg = renderSvg(three)
    assert.match(
      svg,
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="880" height="410" viewBox="0 0 880 410">\n/
    )
    assert.deepStrictEqual(
      [...svg.matchAll(/<g transform="translate\((\d+),(\d+)\)">/g)].map((m) => `${m[1]},${m[2]}`),
      ["0,70", "440,70", "0,240"]
    )
    assert.strictEqual([...svg.matchAll(/<path d="M[^"]+" class="p50"\/>/g)].length, 3)
    assert.strictEqual([...svg.matchAll(/<path d="M[^"]+" class="p99"\/>/g)].length, 3)
    assert.isTrue(svg.endsWith("</svg>\n"))
  })

  it("marks each backend change with a dashed line and each second with errors with a bar", () => {
    const svg = renderSvg(report([strategyReport("round-robin")]))
    assert.strictEqual(count(svg, `class="change"/>`), 1)
    assert.include(svg, `class="change-label">slow down</text>`)
    // The legend's swatch, and the one second with errors.
    assert.strictEqual(count(svg, `class="errors"/>`), 2)
  })

  it("escapes the scenario's text", () => {
    const svg = renderSvg(three)
    assert.include(svg, `<text x="12" y="38" class="subtitle">a &amp; b</text>`)
    assert.notInclude(svg, "a & b")
  })

  it("the HTML page holds the SVG and the table, escaped", () => {
    const html = renderHtml(three)
    assert.include(html, renderSvg(three))
    assert.include(html, `<pre>${renderTable(three).replace(/&/g, "&amp;")}</pre>`)
    assert.strictEqual(renderChart(three, "html"), html)
    assert.strictEqual(renderChart(three, "svg"), renderSvg(three))
  })
})
