import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { readFileSync } from "node:fs"
import { configText } from "../../../src/domain/config/ConfigDocument.ts"
import { loadConfig } from "../../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../../src/domain/config/ConfigLoader.ts"

const load = (file: string, text: string, env: Record<string, string> = {}): Config => {
  const result = loadConfig({ file, text, env })
  return Result.isSuccess(result) ? result.success : assert.fail(result.failure.message)
}

describe("config document", () => {
  it("reads back as the same config: config.example.yaml", () => {
    const file = new URL("../../../config.example.yaml", import.meta.url).pathname
    const config = load(file, readFileSync(file, "utf8"))
    assert.deepStrictEqual(load(file, configText(config)), config)
  })

  it("reads back as the same config: an HTTP/1.1 backend in an h2c pool, a literal ${, durations and sizes", () => {
    const text = `
server: { gracePeriod: 90s, maxBodySize: 3MiB }
timeouts: { request: 1500ms }
backends:
  - { name: a, url: "http://a:1/$\${literal}" }
pools:
  grpc:
    protocol: h2c
    backends:
      - { name: g1, url: "http://g:1" }
      - { name: g2, url: "http://g:2", protocol: http1, maxConnections: 4 }
`
    const config = load("/etc/switchyard/config.yaml", text)
    assert.strictEqual(config.backends[0]?.url, "http://a:1/${literal}")
    assert.deepStrictEqual(config.pools?.["grpc"]?.backends.map((spec) => spec.protocol), ["h2c", undefined])
    assert.deepStrictEqual(load("/etc/switchyard/config.yaml", configText(config), { literal: "no" }), config)
  })
})
