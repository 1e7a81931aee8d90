/**
 * `switchyard simulate --traffic` on a real recording: `serve` in round-robin over a fast, a slow
 * and a dying backend (`support/Recording.ts`), its access log and journal replayed. The replay
 * of the config that ran must agree with what the log observed, the latency-aware strategy must
 * beat round-robin against the slow backend, and a seed must give the same bytes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { runCli, writeConfig } from "../support/Cli.ts"
import { record } from "../support/Recording.ts"

const Compared = Schema.Struct({ observed: Schema.Number, replayed: Schema.Number, difference: Schema.Number })

const Run = Schema.Struct({
  strategy: Schema.String,
  requests: Schema.Number,
  latencyMs: Schema.Struct({ p50: Schema.Number, p90: Schema.Number, p99: Schema.Number }),
  errorPercent: Schema.Number
})

const Report = Schema.Struct({
  strategies: Schema.Array(Run),
  calibration: Schema.Struct({
    p50Ms: Compared,
    p99Ms: Compared,
    errorPercent: Compared,
    retries: Compared,
    sharePercent: Schema.Array(Schema.Struct({ backend: Schema.String, difference: Schema.Number })),
    p99Off: Schema.Boolean
  })
})

const decodeReport = Schema.decodeUnknownSync(Schema.fromJsonString(Report))

/**
 * docs/simulate.md's "Replaying real traffic": each `sh` block's command (its lines joined) and
 * the block after it, what it prints; one that starts and ends with `...` is an excerpt.
 */
const docsExamples = (): ReadonlyArray<{ readonly args: ReadonlyArray<string>; readonly printed: string }> => {
  const docs = readFileSync(new URL("../../docs/simulate.md", import.meta.url), "utf8")
  const section = docs.slice(docs.indexOf("## Replaying real traffic"), docs.indexOf("## Determinism and speed"))
  return [...section.matchAll(/```sh\n([^]*?)```\n\n```\n([^]*?)```/g)].map((match) => ({
    args: (match[1] ?? "").replaceAll("\\\n", " ").trim().split(/\s+/).slice(1),
    printed: match[2] ?? ""
  }))
}

describe("simulate --traffic", () => {
  it.live(
    "a recorded run replays calibrated, the latency-aware strategy wins, and a seed gives the same bytes",
    () =>
      Effect.gen(function*() {
        const recording = yield* record({ rate: 60, durationMs: 9_000 })
        const variants = writeConfig(
          `variants:\n  - { name: with ejection, outlierDetection: { baseEjectionTime: 1s } }\n`,
          "variants.yaml"
        )
        const args = [
          "simulate",
          "--traffic",
          recording.traffic,
          "--journal",
          recording.journal,
          "--config",
          recording.config,
          "--strategies",
          "p2c-ewma,least-connections",
          "--variants",
          variants,
          "--seed",
          "7"
        ]
        const json = yield* runCli([...args, "--format", "json"])
        assert.strictEqual(json.code, 0, json.stderr)
        assert.strictEqual(json.stderr, "")
        const report = decodeReport(json.stdout)
        const [observed, ran, p2c] = report.strategies
        assert.deepStrictEqual(report.strategies.map((s) => s.strategy), [
          "observed",
          "round-robin (ran)",
          "p2c-ewma",
          "least-connections",
          "with ejection"
        ])
        // Every request the client sent is in the log, and replayed.
        assert.strictEqual(observed?.requests, recording.sent)
        assert.strictEqual(ran?.requests, recording.sent)

        const { calibration } = report
        assert.isFalse(calibration.p99Off, JSON.stringify(calibration))
        assert.isAtMost(Math.abs(calibration.p99Ms.difference), 25, "p99 within 25%")
        assert.isAtMost(Math.abs(calibration.p50Ms.difference), 25, "p50 within 25%")
        assert.isAtMost(Math.abs(calibration.errorPercent.difference), 1, "errors within a point")
        assert.isAtMost(Math.abs(calibration.retries.replayed - calibration.retries.observed), 10, "retries within 10")
        for (const share of calibration.sharePercent) {
          assert.isAtMost(Math.abs(share.difference), 5, `${share.backend}'s share within 5 points`)
        }

        // Round-robin sends a third of the requests to the 40 ms backend; p2c-ewma learns not to.
        assert.isBelow(p2c?.latencyMs.p90 ?? Infinity, (ran?.latencyMs.p90 ?? 0) / 2, "p90 halved at least")
        assert.isBelow(p2c?.latencyMs.p99 ?? Infinity, ran?.latencyMs.p99 ?? 0)

        const table = yield* runCli(args)
        assert.strictEqual(table.code, 0, table.stderr)
        assert.match(
          table.stdout,
          /^replay of .*traffic\.jsonl \(journal .*journal\.jsonl, config .*config\.yaml\), seed 7\n/
        )
        assert.match(
          table.stdout,
          /\n {4}flaky: observed median [\d.]+ms p99 [\d.]+ms.*; down at \d\.\d\ds; up at \d\.\d\ds\n/
        )
        assert.match(table.stdout, /\n {2}difference +[+±-]?[\d.]+% +[+±-]?[\d.]+%/)
        const again = yield* runCli(args)
        assert.strictEqual(again.stdout, table.stdout)
      }),
    60_000
  )

  it.live(
    "the worked example in docs/simulate.md runs as written and prints the numbers shown",
    () =>
      Effect.gen(function*() {
        const examples = docsExamples()
        assert.strictEqual(examples.length, 2)
        for (const { args, printed } of examples) {
          const result = yield* runCli(args)
          assert.strictEqual(result.code, 0, result.stderr)
          if (printed.startsWith("...\n")) {
            assert.include(result.stdout, printed.slice("...\n".length, -"...\n".length), args.join(" "))
          } else {
            assert.strictEqual(result.stdout, printed, args.join(" "))
          }
        }
      }),
    30_000
  )

  it.live("a bad line is told at its line and field, exit 1, nothing on stdout", () =>
    Effect.gen(function*() {
      const traffic = writeConfig(
        [
          `{"time":"2026-11-23T00:31:07.212Z","level":"INFO","message":"proxy listening on http://127.0.0.1:8080"}`,
          `{"time":"2026-11-23T00:31:08.001Z","level":"INFO","message":"request","client":"10.0.0.1","method":"GET","path":"/","status":200,"backend":"a","durationMs":2,"retries":0}`,
          `{"time":"2026-11-23T00:31:08.002Z","level":"INFO","message":"request","client":"10.0.0.1","method":"GET","path":"/","status":"ok","backend":"a","durationMs":2,"retries":0}`,
          ""
        ].join("\n"),
        "traffic.jsonl"
      )
      const config = writeConfig(`backends: [{ name: a, url: "http://127.0.0.1:9" }]\n`)
      const bad = yield* runCli(["simulate", "--traffic", traffic, "--config", config])
      assert.strictEqual(bad.code, 1)
      assert.strictEqual(bad.stdout, "")
      assert.strictEqual(
        bad.stderr,
        `invalid traffic log ${traffic} (1 problem):\n  ${traffic}:3:1: status: Expected number\n`
      )
    }))
})
