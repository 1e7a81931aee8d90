import { assert, describe, it } from "@effect/vitest"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Predicate, Result } from "effect"
import { parse } from "yaml"
import { configJsonSchema } from "../../../src/domain/config/ConfigJsonSchema.ts"
import { loadConfig } from "../../../src/domain/config/ConfigLoader.ts"
import type { ConfigSample } from "../../support/ConfigSamples.ts"
import { docsConfigs, exampleConfig, invalidConfigs, validConfigs } from "../../support/ConfigSamples.ts"

const schema = configJsonSchema()
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema)

/** What the schema says of a file's text, as an editor reads it (no environment). */
const schemaErrors = (sample: ConfigSample): string =>
  validate(parse(sample.text)) ? "" : JSON.stringify(validate.errors, null, 1)

/** The node at `path` of a JSON value, or `undefined`. */
const at = (node: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>(
    (value, key) => Predicate.isObjectOrArray(value) ? (value as Record<string | number, unknown>)[key] : undefined,
    node
  )

/** The properties of the `server` section (an object, or null when left empty). */
const server = at(schema, "properties", "server", "anyOf", 0, "properties")

const loads = (sample: ConfigSample) =>
  Result.isSuccess(
    loadConfig({
      file: "config.yaml",
      text: sample.text,
      env: { PORT: "8181", ADMIN_PORT: "9191", TOKEN: "t", TRUST: "true", HOST: "10.0.0.5", ADMIN_TOKEN: "t" }
    })
  )

describe("the config's JSON Schema", () => {
  it("is draft 2020-12 and refuses unknown keys where the loader does", () => {
    assert.strictEqual(schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
    assert.strictEqual(schema["additionalProperties"], false)
    assert.deepStrictEqual(schema["required"], ["backends"])
  })

  it("describes every key, and gives the defaults of those that have one", () => {
    const undescribed: Array<string> = []
    const keys: Array<string> = []
    const walk = (node: unknown, path: string): void => {
      if (!Predicate.isObject(node)) return
      for (
        const [key, value] of Object.entries(
          Predicate.isObject(at(node, "properties")) ? at(node, "properties") as object : {}
        )
      ) {
        const branches = at(value, "anyOf")
        const described = typeof at(value, "description") === "string" ||
          (Array.isArray(branches) && branches.some((branch) => typeof at(branch, "description") === "string"))
        keys.push(`${path}${key}`)
        if (!described) undescribed.push(`${path}${key}`)
        walk(value, `${path}${key}.`)
      }
      const patterned = at(node, "patternProperties")
      if (Predicate.isObject(patterned)) Object.values(patterned).forEach((value) => walk(value, `${path}<name>.`))
      walk(at(node, "items"), `${path.slice(0, -1)}[].`)
      const branches = at(node, "anyOf")
      if (Array.isArray(branches)) branches.forEach((branch) => walk(branch, path))
    }
    walk(schema, "")
    assert.includeMembers(keys, [
      "server.port",
      "backends[].url",
      "pools.<name>.backends[].weight",
      "rateLimit.store.redis"
    ])
    assert.deepStrictEqual(undescribed, [])
    assert.deepStrictEqual(
      [at(server, "port", "default"), at(server, "maxBodySize", "default"), at(server, "gracePeriod", "default")],
      [8080, "10MiB", "30s"]
    )
  })

  it("writes durations and sizes as the file does: strings with their patterns", () => {
    const duration = at(server, "gracePeriod", "anyOf", 0)
    assert.deepStrictEqual(duration, { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?(ms|s|m|h)\\s*$" })
    const pattern = new RegExp(String(at(duration, "pattern")), "u")
    assert.deepStrictEqual(["250ms", "5s", "1.5m", "2h", "5", "5 seconds", "1d"].map((text) => pattern.test(text)), [
      true,
      true,
      true,
      true,
      false,
      false,
      false
    ])
  })

  it("accepts config.example.yaml", () => {
    assert.strictEqual(schemaErrors(exampleConfig), "")
  })

  it("accepts every config block of the docs, which the loader accepts too", () => {
    const blocks = docsConfigs()
    assert.isAtLeast(blocks.length, 20)
    for (const block of blocks) {
      assert.strictEqual(schemaErrors(block), "", block.name)
      assert.isTrue(loads(block), `the loader refuses ${block.name}`)
    }
  })

  it("accepts the files the loader accepts, ${NAME} references as they are written", () => {
    for (const sample of validConfigs) {
      assert.strictEqual(schemaErrors(sample), "", sample.name)
      assert.isTrue(loads(sample), `the loader refuses ${sample.name}`)
    }
  })

  it("refuses the files the loader refuses for a reason it can see", () => {
    for (const sample of invalidConfigs) {
      assert.notStrictEqual(schemaErrors(sample), "", `the schema accepts ${sample.name}`)
      assert.isFalse(loads(sample), `the loader accepts ${sample.name}`)
    }
  })
})
