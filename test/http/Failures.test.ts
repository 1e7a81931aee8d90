/**
 * What the proxy answers when it cannot, or must not, forward: bad requests never reach a
 * backend; unreachable, hanging and saturated backends become 502, 504 and 503.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Readable } from "node:stream"
import { closedPort, dropsReusedConnections, startBackend } from "../support/Backends.ts"
import { send, sendRaw, statusOf } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const body = (text: string): Record<string, unknown> => JSON.parse(text)

describe("failures", () => {
  it.live("502 when the backend refuses the connection", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const proxy = yield* startProxy({ backends: [{ url: `http://127.0.0.1:${port}` }] })
      const reply = yield* send(proxy.url)
      assert.strictEqual(reply.status, 502)
      assert.strictEqual(reply.headers["content-type"], "application/json")
      assert.strictEqual(body(reply.text)["requestId"], reply.headers["x-request-id"])
      assert.deepStrictEqual(proxy.registry.pool().map((b) => [b.failures, b.inFlight]), [[1, 0]])
    }))

  it.live("502 when the backend resets the connection before answering", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request) => request.socket.destroy())
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url, { method: "POST", body: "payload" })
      assert.strictEqual(reply.status, 502)
      // A request with a body is never replayed: it may have been half-processed.
      assert.strictEqual(backend.arrivals(), 1)
    }))

  it.live("504 when the backend sends no response head within timeouts.request", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request) => request.resume())
      const proxy = yield* startProxy({ timeouts: { request: "300ms" }, backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url)
      assert.strictEqual(reply.status, 504)
      assert.strictEqual(body(reply.text)["error"], "gateway timeout")
    }))

  it.live("503 with a JSON body and Retry-After when every backend is at maxConnections", () =>
    Effect.gen(function*() {
      const held: Array<() => void> = []
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        held.push(() => response.end("late"))
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url, maxConnections: 1 }] })
      const first = yield* Effect.forkChild(send(proxy.url))
      yield* waitUntil(() => backend.arrivals() === 1)
      const second = yield* send(proxy.url)
      assert.strictEqual(second.status, 503)
      assert.strictEqual(second.headers["retry-after"], "1")
      assert.deepInclude(body(second.text), { status: 503, error: "service unavailable" })
      held.forEach((release) => release())
      const firstReply = yield* Fiber.join(first)
      assert.strictEqual(firstReply.status, 200)
      assert.strictEqual(backend.arrivals(), 1)
    }))

  it.live("413 for a declared body over maxBodySize, without forwarding it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ server: { maxBodySize: "1KiB" }, backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url, { method: "POST", body: Buffer.alloc(1025, 1) })
      assert.strictEqual(reply.status, 413)
      assert.strictEqual(backend.arrivals(), 0)
      const fits = yield* send(proxy.url, { method: "POST", body: Buffer.alloc(1024, 1) })
      assert.strictEqual(fits.status, 200)
    }))

  it.live("413 for a chunked body that outgrows maxBodySize", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ server: { maxBodySize: "64KiB" }, backends: [{ url: backend.url }] })
      const chunks = Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 7))
      const reply = yield* send(proxy.url, { method: "POST", body: Readable.from(chunks) })
      assert.strictEqual(reply.status, 413)
      assert.strictEqual(backend.deliveries.filter((d) => d.bodyBytes > 64 * 1024).length, 0)
    }))

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["a bad request line", "GET /a b c HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a duplicated Host", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n"],
    ["a missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n"],
    [
      "Content-Length with Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ],
    ["conflicting Content-Lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"],
    ["bad bytes in a header value", "GET / HTTP/1.1\r\nHost: h\r\nX-Bad: a\u0001b\r\n\r\n"],
    ["a space before the colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n"],
    ["a target that is not a path", "GET ftp://x/y HTTP/1.1\r\nHost: h\r\n\r\n"]
  ]
  for (const [what, request] of malformed) {
    it.live(`400 for ${what}, never forwarded`, () =>
      Effect.gen(function*() {
        const backend = yield* startBackend("a")
        const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
        const raw = yield* sendRaw(proxy.port, request)
        assert.strictEqual(statusOf(raw), 400)
        assert.strictEqual(backend.arrivals(), 0)
      }))
  }

  it.live("431 for headers over server.maxHeaderSize", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ server: { maxHeaderSize: "4KiB" }, backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"x".repeat(5000)}\r\n\r\n`)
      assert.strictEqual(statusOf(raw), 431)
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("disconnects a client that does not finish its headers within timeouts.headers", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ timeouts: { headers: "300ms" }, backends: [{ url: backend.url }] })
      // A slowloris client: a request line and one header, then silence.
      const raw = yield* sendRaw(proxy.port, "GET / HTTP/1.1\r\nHost: h\r\n", 5_000)
      assert.strictEqual(statusOf(raw), 408)
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("a client going away cancels the upstream request and frees its slot", () =>
    Effect.gen(function*() {
      let upstreamClosed = false
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.on("close", () => {
          upstreamClosed = true
        })
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* Effect.forkChild(send(proxy.url, { path: "/slow" }))
      yield* waitUntil(() => backend.arrivals() === 1)
      assert.strictEqual(proxy.registry.pool()[0]?.inFlight, 1)
      yield* Fiber.interrupt(client).pipe(Effect.forkChild)
      yield* waitUntil(() => upstreamClosed && proxy.registry.pool()[0]?.inFlight === 0)
      const state = proxy.registry.pool()[0]
      assert.strictEqual(state?.failures, 0, "a client hanging up is not the backend's fault")
      assert.strictEqual(state?.requests, 1)
    }))

  it.live("a keep-alive connection the backend dropped is replayed on a fresh one, not a 502", () =>
    Effect.gen(function*() {
      // The backend answers the first request on each connection and silently drops any later
      // one: a keep-alive race on every reuse.
      const backend = yield* startBackend("a", dropsReusedConnections())
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (let i = 0; i < 5; i++) {
        const reply = yield* send(proxy.url)
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.text, "fresh")
      }
      assert.strictEqual(proxy.registry.pool()[0]?.failures, 0)
    }))
})
