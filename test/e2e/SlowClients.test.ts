/**
 * Slow clients against the real `switchyard serve` process: clients that drip a header line
 * every 200 ms and never read what they are sent. After `timeouts.headers` they are answered
 * and disconnected, and the proxy's open descriptors (counted in `/proc/<pid>/fd`) come back to
 * what they were before the clients came.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import { CLOSE_LINGER_MS } from "../../src/http/ProxyListener.ts"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { rawClient } from "../support/RawClient.ts"
import { waitUntil } from "../support/Wait.ts"

const clients = 100

describe("slow clients", () => {
  it.live(`${clients} clients that drip headers and never read hold no descriptor once timeouts.headers and the linger are over`, () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const file = writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
timeouts: { headers: 1s }
backends:
  - url: ${backend.url}
`)
      const cli = yield* startCli(["serve", "--config", file])
      const port = yield* listeningPort(cli)
      const descriptors = () => readdirSync(`/proc/${cli.pid}/fd`).length
      const before = descriptors()
      const dripping = yield* Effect.forEach(Array.from({ length: clients }), () => rawClient(port, { reads: false }))
      for (const client of dripping) {
        client.write("GET / HTTP/1.1\r\nHost: h\r\n")
        client.drip("X-Drip: 1\r\n", 200)
      }
      yield* waitUntil(() => descriptors() >= before + clients)
      const during = descriptors()
      // The headers timeout, Node's check (every second here), the linger, and half a second.
      yield* Effect.sleep(1_000 + 1_000 + CLOSE_LINGER_MS + 500)
      const after = descriptors()
      assert.deepStrictEqual(
        {
          during: during - before,
          after: after - before,
          disconnected: dripping.filter((client) => client.closed()).length
        },
        { during: clients, after: 0, disconnected: clients }
      )
    }))
})
