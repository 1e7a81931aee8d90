/**
 * Backpressure from an HTTP/1.1 client to the backend: while the client reads nothing the proxy
 * stops reading the backend's response (on plain TCP, by stopping the reads of the socket its
 * parser consumes), so the backend is held back rather than the body piling up in the proxy; once
 * the client reads again, the rest of the body follows, every byte of it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { connect } from "node:net"
import { startBackend } from "../support/Backends.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const MiB = 1024 * 1024
const bodyBytes = 256 * MiB

describe("backpressure toward an HTTP/1.1 backend", () => {
  it.live(
    "a client that stops reading holds the backend back; when it reads again, the whole body arrives",
    () =>
      Effect.gen(function*() {
        let written = 0
        const chunk = Buffer.alloc(64 * 1024, 7)
        const backend = yield* startBackend("bulk", (request, response) => {
          request.resume()
          response.writeHead(200, { "content-length": bodyBytes })
          const pump = () => {
            while (written < bodyBytes && !response.destroyed) {
              written += chunk.length
              if (!response.write(chunk)) return void response.once("drain", pump)
            }
            response.end()
          }
          pump()
        })
        const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
        let received = 0
        let headBytes = 0
        const client = connect(proxy.port, "127.0.0.1")
        yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
        client.once("data", (data: Buffer) => {
          headBytes = data.indexOf("\r\n\r\n") + 4
          client.pause()
        })
        client.on("data", (data: Buffer) => {
          received += data.length
        })
        client.write("GET /bulk HTTP/1.1\r\nhost: bulk\r\n\r\n")
        yield* waitUntil(() => received > 0)
        // Long enough for every buffer between the backend and the client to fill.
        yield* Effect.sleep("1 second")
        const held = written
        assert.isBelow(held, 96 * MiB, `the backend wrote ${Math.round(held / MiB)} MiB to a client reading nothing`)
        client.resume()
        yield* waitUntil(() => received - headBytes === bodyBytes)
        assert.strictEqual(written, bodyBytes)
      }),
    { timeout: 60_000 }
  )
})
