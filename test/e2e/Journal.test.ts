/**
 * The journal end to end: a running proxy writes it, `switchyard replay` reads it back as the
 * story of each backend's health and circuit.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, runCli, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

describe("journal and replay", () => {
  it.live("a proxy's journal replays into each backend's health and circuit timeline", () =>
    Effect.gen(function*() {
      const health = { code: 200 }
      const flaky = yield* startBackend("flaky", (request, response) => {
        request.resume()
        if (request.url === "/health") response.writeHead(health.code)
        else response.writeHead(500)
        response.end()
      })
      const config = writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends:
  - { name: flaky, url: "${flaky.url}" }
healthCheck: { interval: 100ms, timeout: 90ms, unhealthyThreshold: 2, healthyThreshold: 1 }
circuitBreaker: { failureThreshold: 2, resetTimeout: 1m }
retry: { attempts: 1 }
journal: ./events.jsonl
`)
      // Relative to the config file's directory, not the process's.
      const journal = join(dirname(config), "events.jsonl")
      const cli = yield* startCli(["serve", "--config", config])
      const port = yield* listeningPort(cli)
      yield* send(`http://127.0.0.1:${port}`)
      yield* send(`http://127.0.0.1:${port}`)
      health.code = 500
      yield* waitUntil(() => readFileSync(journal, "utf8").includes(`"healthy":false`))
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)

      const text = yield* runCli(["replay", journal])
      assert.strictEqual(text.code, 0, text.stderr)
      assert.include(text.stdout, "flaky\n")
      assert.include(text.stdout, "joined (")
      assert.include(text.stdout, "circuit closed -> open: 2 consecutive failures, the last: server-error")
      assert.include(text.stdout, "health  healthy -> unhealthy: 2 consecutive failed probes, the last: HTTP 500")
      assert.match(text.stdout, /now: unhealthy, circuit open until \d{4}-/)

      const json = yield* runCli(["replay", journal, "--format", "json"])
      const document = JSON.parse(json.stdout)
      assert.deepStrictEqual(document.backends[0].final, { healthy: false, circuit: "Open", removed: false })
    }))

  it.live("replay names a line that is not an event and exits 1; a cut-off last line is only a warning", () =>
    Effect.gen(function*() {
      const good =
        `{"_tag":"BackendAdded","at":0,"spec":{"name":"a","url":"http://a:1","weight":1},"policy":{"healthyThreshold":2,"unhealthyThreshold":3,"failureThreshold":5,"resetTimeoutMs":30000,"halfOpenRequests":1,"ewmaDecayMs":10000}}`
      const broken = writeConfig(`${good}\n{"_tag":"Nonsense"}\n${good}\n`, "broken.jsonl")
      const refused = yield* runCli(["replay", broken])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr, `journal ${broken}: line 2: not a backend event`)
      const cut = writeConfig(`${good}\n{"_tag":"ProbeFai`, "cut.jsonl")
      const tolerated = yield* runCli(["replay", cut])
      assert.strictEqual(tolerated.code, 0)
      assert.include(tolerated.stderr, "the last line is incomplete and was skipped")
      assert.include(tolerated.stdout, "1 events, 1 backends")
    }))
})
