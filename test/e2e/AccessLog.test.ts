/**
 * Access logs as an operator sees them: one JSON object per request on the proxy's stdout.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

const config = (backendUrl: string, access: boolean) =>
  writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: api, url: "${backendUrl}" }]
logging: { format: json, access: ${access} }
`)

const accessLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).filter((entry) =>
    entry.message === "request"
  )

describe("access log", () => {
  it.live("writes one flat JSON line per request with its facts", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, true)])
      const port = yield* listeningPort(cli)
      yield* send(`http://127.0.0.1:${port}`, { path: "/orders?page=2", headers: { "x-request-id": "trace-me" } })
      yield* send(`http://127.0.0.1:${port}`, { method: "POST", path: "/orders", body: "{}" })
      yield* waitUntil(() => accessLines(cli.stdout()).length === 2)
      const [first, second] = accessLines(cli.stdout())
      assert.deepInclude(first, {
        requestId: "trace-me",
        client: "127.0.0.1",
        method: "GET",
        path: "/orders?page=2",
        status: 200,
        backend: "api",
        retries: 0
      })
      assert.isAbove(first.bytes, 0)
      assert.isAtLeast(first.durationMs, 0)
      assert.match(first.time, /^\d{4}-\d\d-\d\dT/)
      assert.strictEqual(first.level, "INFO")
      assert.deepInclude(second, { method: "POST", status: 200 })
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))

  it.live("logging.access: false writes none", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, false)])
      const port = yield* listeningPort(cli)
      for (let i = 0; i < 3; i++) yield* send(`http://127.0.0.1:${port}`)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
      assert.deepStrictEqual(accessLines(cli.stdout()), [])
    }))
})
