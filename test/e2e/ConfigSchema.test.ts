/**
 * `switchyard schema` as editors and CI take it: the committed `switchyard.schema.json` is its
 * output (so it cannot drift from the Schema that decodes the file), `config.example.yaml` points
 * at it, and the files the schema refuses `switchyard check` refuses too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { runCli, writeConfig } from "../support/Cli.ts"
import { exampleConfig, invalidConfigs } from "../support/ConfigSamples.ts"

const committed = new URL("../../switchyard.schema.json", import.meta.url)

describe("switchyard schema", () => {
  it.live("prints the committed switchyard.schema.json (regenerate: switchyard schema > switchyard.schema.json)", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runCli(["schema"])
      assert.strictEqual(stderr, "")
      assert.strictEqual(code, 0)
      assert.strictEqual(stdout, readFileSync(committed, "utf8"))
      assert.strictEqual(JSON.parse(stdout).$schema, "https://json-schema.org/draft/2020-12/schema")
    }))

  it("config.example.yaml names it for yaml-language-server, by a path relative to the example", () => {
    const [first = ""] = exampleConfig.text.split("\n")
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)
    assert.isNotNull(match)
    assert.isTrue(existsSync(new URL(match?.[1] ?? "", new URL("../../config.example.yaml", import.meta.url))))
  })

  it.live("what the schema refuses, switchyard check refuses too", () =>
    Effect.forEach(invalidConfigs, (sample) =>
      runCli(["check", "--config", writeConfig(sample.text)]).pipe(
        Effect.map(({ code, stderr }) => {
          assert.strictEqual(code, 1, `check accepts ${sample.name}`)
          assert.match(stderr, /config\.yaml/, sample.name)
        })
      ), { concurrency: 4, discard: true }))
})
