/**
 * An unsolicited `100 Continue` from a backend is swallowed and the final response delivered,
 * through the proxy against a raw backend that writes exactly the bytes given, however they are
 * cut into writes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Scope } from "effect"
import { createServer } from "node:net"
import type { Socket } from "node:net"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

interface RawBackend {
  readonly url: string
  readonly connections: () => number
  readonly requests: () => number
}

/**
 * A backend on a bare socket: for each request head it receives (bodiless requests only), it
 * writes `answer`'s pieces in order, `gapMs` apart, each a write of its own.
 */
const rawBackend = (answer: ReadonlyArray<string>, gapMs = 20): Effect.Effect<RawBackend, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawBackend & { readonly close: () => void }>((resume) => {
      const sockets = new Set<Socket>()
      let connections = 0
      let requests = 0
      const server = createServer((socket) => {
        connections++
        sockets.add(socket)
        socket.setNoDelay(true)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => undefined)
        let pending = ""
        socket.on("data", (chunk: Buffer) => {
          pending += chunk.toString("latin1")
          let end = pending.indexOf("\r\n\r\n")
          while (end !== -1) {
            pending = pending.slice(end + 4)
            requests++
            answer.forEach((piece, i) => setTimeout(() => socket.write(piece, "latin1"), i * gapMs))
            end = pending.indexOf("\r\n\r\n")
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}`,
          connections: () => connections,
          requests: () => requests,
          close: () => {
            server.close()
            for (const socket of sockets) socket.destroy()
          }
        }))
      })
    }),
    (backend) => Effect.sync(backend.close)
  )

const ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

/** Two requests through the proxy: both get the 200 and its body, on one backend connection. */
const deliversTheFinalResponse = (answer: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const backend = yield* rawBackend(answer)
    const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
    for (const path of ["/first", "/second"]) {
      const reply = yield* send(proxy.url, { path })
      assert.deepStrictEqual(
        [reply.status, reply.headers["content-type"], reply.text],
        [200, "text/plain", "hello"],
        path
      )
    }
    assert.deepStrictEqual([backend.connections(), backend.requests()], [1, 2], "the connection kept serving")
    assert.strictEqual(proxy.registry.pool()[0]?.failures, 0)
  })

describe("an unsolicited 100 Continue from a backend", () => {
  it.live("sent with the 200 in one write: the client gets the 200 and its body", () =>
    deliversTheFinalResponse([`HTTP/1.1 100 Continue\r\n\r\n${ok}`]))

  it.live("sent in a write of its own before the 200: the client gets the 200", () =>
    deliversTheFinalResponse(["HTTP/1.1 100 Continue\r\n\r\n", ok]))

  it.live("with headers of its own: swallowed with them", () =>
    deliversTheFinalResponse(["HTTP/1.1 100 Continue\r\nX-Note: keep going\r\nServer: odd\r\n\r\n", ok]))

  it.live("cut in two mid status line, then a second 100 without a reason: both swallowed", () =>
    deliversTheFinalResponse(["HTTP/1.1 10", "0 Continue\r\n\r\nHTTP/1.1 100\r\n\r\n", ok]))

  it.live("after a 103 Early Hints: swallowed, and the final response delivered", () =>
    deliversTheFinalResponse([
      `HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${ok}`
    ]))
})
