/**
 * With `tracing.otlpEndpoint` set, spans leave the process over OTLP/HTTP: a collector on
 * loopback receives them, at the latest when the proxy shuts down and flushes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

describe("OTLP export", () => {
  it.live("a proxied request's spans reach the configured OTLP/HTTP collector", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const collector = yield* startBackend("collector", (request, response) => {
        request.resume()
        request.on("end", () => {
          response.writeHead(200, { "content-type": "application/json" })
          response.end("{}")
        })
      })
      const cli = yield* startCli([
        "serve",
        "--config",
        writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: api, url: "${backend.url}" }]
tracing: { otlpEndpoint: "${collector.url}/v1/traces", serviceName: edge-proxy }
logging: { access: false }
`)
      ])
      const port = yield* listeningPort(cli)
      assert.strictEqual((yield* send(`http://127.0.0.1:${port}`, { path: "/traced" })).status, 200)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
      yield* waitUntil(() => collector.deliveries.length > 0)
      const export_ = collector.deliveries[0]
      assert.strictEqual(export_?.method, "POST")
      assert.strictEqual(export_?.url, "/v1/traces")
      const exported = export_?.body?.toString("latin1") ?? ""
      assert.include(exported, "edge-proxy", "the resource's service.name")
      assert.include(exported, "upstream", "the attempt span")
    }))
})
