/**
 * The serve log as an operator reads it: a backend going down and coming back as WARN and INFO
 * lines naming it, and in a terminal (`logging.format: pretty`) one line per request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

const jsonLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))

/** `switchyard serve` on ephemeral ports over one backend named `api`, with `extra` lines of config. */
const serve = (backendUrl: string, extra: string) =>
  startCli([
    "serve",
    "--config",
    writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: api, url: "${backendUrl}" }]
${extra}
`)
  ])

describe("serve log", () => {
  it.live("a backend taken out by its health checks is a WARN line, and its return an INFO", () =>
    Effect.gen(function*() {
      let healthy = true
      const backend = yield* startBackend("api", (request, response) => {
        request.resume()
        response.statusCode = healthy ? 200 : 503
        response.end()
      })
      const cli = yield* serve(
        backend.url,
        "healthCheck: { interval: 100ms, timeout: 50ms, healthyThreshold: 1, unhealthyThreshold: 1 }"
      )
      yield* listeningPort(cli)
      healthy = false
      yield* waitUntil(() => jsonLines(cli.stdout()).some((line) => line.event === "HealthChanged"))
      healthy = true
      yield* waitUntil(() => jsonLines(cli.stdout()).filter((line) => line.event === "HealthChanged").length === 2)
      const changes = jsonLines(cli.stdout()).filter((line) => line.event === "HealthChanged")
      assert.deepStrictEqual(changes.map((line) => [line.level, line.backend]), [["WARN", "api"], ["INFO", "api"]])
      assert.match(changes[0].message, /^backend api is unhealthy: .*HTTP 503/)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))

  it.live("logging.format: pretty writes one line per request", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* serve(backend.url, "logging: { format: pretty }")
      const port = yield* listeningPort(cli)
      yield* send(`http://127.0.0.1:${port}`, { path: "/hello?x=1" })
      yield* waitUntil(() => cli.stdout().includes("GET /hello?x=1 200 api"))
      const lines = cli.stdout().split("\n").filter((line) => line.includes("/hello?x=1"))
      assert.strictEqual(lines.length, 1)
      assert.match(
        lines[0] ?? "",
        /INFO.*GET \/hello\?x=1 200 api [\d.]+ ms \d+ B HTTP\/1\.1 id=\S+ client=127\.0\.0\.1$/
      )
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))
})
