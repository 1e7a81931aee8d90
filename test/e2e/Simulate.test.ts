/**
 * `switchyard simulate` as a user runs it: a scenario file, the table or JSON on stdout, the chart
 * written, the same bytes every time; and a bad scenario told precisely, with exit 1.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { runCli, writeConfig } from "../support/Cli.ts"

const small = `description: two backends, one twice as slow
traffic: { duration: 5s, rate: 100 }
backends:
  - { name: fast, latency: { lognormal: { median: 10ms, p99: 40ms } } }
  - { name: slow, latency: { lognormal: { median: 20ms, p99: 80ms } } }
proxy:
  healthCheck: { interval: 1s, timeout: 500ms }
`

describe("switchyard simulate", () => {
  it.live("prints the comparison, writes the chart, and gives the same bytes for the same seed", () =>
    Effect.gen(function*() {
      const scenario = writeConfig(small, "scenario.yaml")
      const chart = join(dirname(scenario), "latency.svg")
      const args = ["simulate", "--scenario", scenario, "--strategies", "round-robin,p2c-ewma", "--seed", "42"]
      const first = yield* runCli([...args, "--chart", chart])
      assert.strictEqual(first.code, 0, first.stderr)
      assert.strictEqual(first.stderr, "")
      assert.match(first.stdout, /^scenario .*scenario\.yaml, seed 42\n/)
      assert.match(first.stdout, /\nround-robin +\d+\.\d +\d+\.\d +\d+\.\d +\d+\.\d +\d+\.\d\d% +\d+\n/)
      assert.match(first.stdout, /\np2c-ewma +\d+\.\d% \(\d+\) +\d+\.\d% \(\d+\)\n/)
      assert.isTrue(existsSync(chart))
      assert.match(readFileSync(chart, "utf8"), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^]*<\/svg>\n$/)
      const second = yield* runCli(args)
      assert.strictEqual(second.code, 0, second.stderr)
      assert.strictEqual(second.stdout, first.stdout)

      const json = yield* runCli([...args, "--format", "json"])
      assert.strictEqual(json.code, 0, json.stderr)
      const report: unknown = JSON.parse(json.stdout)
      assert.deepInclude(report, { seed: 42 })
    }))

  it.live("a bad scenario: every problem at its line and column, exit 1, nothing on stdout", () =>
    Effect.gen(function*() {
      const scenario = writeConfig(
        `traffic:
  duration: 10s
  rate: 0
backends:
  - name: a
    latency: { lognormal: { median: 20ms } }
    weight: -1
proxy:
  retry: { attempts: 20 }
`,
        "scenario.yaml"
      )
      const result = yield* runCli(["simulate", "--scenario", scenario])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stdout, "")
      assert.strictEqual(
        result.stderr,
        [
          `invalid scenario ${scenario} (3 problems):`,
          `  ${scenario}:3:9: traffic.rate: Expected a value greater than 0, got 0`,
          `  ${scenario}:7:13: backends[0].weight: Expected a value greater than or equal to 1, got -1`,
          `  ${scenario}:9:22: proxy.retry.attempts: Expected a value between 1 and 10, got 20`,
          ""
        ].join("\n")
      )
    }))

  it.live("an unknown strategy, a missing file or a chart of another kind: told in words, exit 1", () =>
    Effect.gen(function*() {
      const scenario = writeConfig(small, "scenario.yaml")
      const unknown = yield* runCli(["simulate", "--scenario", scenario, "--strategies", "round-robin,fastest"])
      assert.strictEqual(unknown.code, 1)
      assert.match(
        unknown.stderr,
        /^simulate: --strategies: unknown strategy "fastest"; expected some of: round-robin, /
      )
      const missing = yield* runCli(["simulate", "--scenario", join(dirname(scenario), "nope.yaml")])
      assert.strictEqual(missing.code, 1)
      assert.match(
        missing.stderr,
        /^invalid scenario .*nope\.yaml \(1 problem\):\n  .*nope\.yaml: cannot read the file: ENOENT/
      )
      const png = yield* runCli(["simulate", "--scenario", scenario, "--chart", "latency.png"])
      assert.strictEqual(png.code, 1)
      assert.strictEqual(png.stderr, "simulate: --chart latency.png: expected a file name ending in .svg or .html\n")
    }))
})
