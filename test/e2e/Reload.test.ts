/**
 * SIGHUP reloads a running `switchyard serve` from its file, as with nginx and HAProxy.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"

const config = (urls: ReadonlyArray<string>, strategy = "round-robin") =>
  `strategy: ${strategy}
server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
backends:
${urls.map((url) => `  - url: "${url}"`).join("\n")}
`

describe("SIGHUP", () => {
  it.live("reloads the config file, logs every change it applied, and keeps running", () =>
    Effect.gen(function*() {
      const first = yield* startBackend("first")
      const second = yield* startBackend("second")
      const file = writeConfig(config([first.url]))
      const cli = yield* startCli(["serve", "--config", file])
      const port = yield* listeningPort(cli)
      writeFileSync(file, config([second.url], "ip-hash"))
      cli.child.kill("SIGHUP")
      yield* cli.waitFor(/config reloaded: 1 added, 0 updated, 1 removed; changed: strategy round-robin → ip-hash"/)
      const reply = yield* send(`http://127.0.0.1:${port}`)
      assert.strictEqual(JSON.parse(reply.text).backend, "second")
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))
})
