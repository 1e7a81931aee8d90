/**
 * The HTTP versions the proxy listener serves, through the real proxy over raw sockets: higher
 * HTTP/1 minor versions are served as HTTP/1.1 (RFC 9110 §2.5), other major versions get `505`
 * and never reach a backend; and an HTTP/1.0 request followed by more bytes gets the backend's
 * answer and nothing else, on a connection that then closes whatever the client does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { connect as connectTls } from "node:tls"
import { startBackend } from "../support/Backends.ts"
import { sendRaw, statusOf } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { rawClient, statusLines } from "../support/RawClient.ts"
import { waitUntil } from "../support/Wait.ts"

const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname

/** `sendRaw` over TLS: writes the bytes, collects everything until the proxy closes. */
const sendRawTls = (port: number, bytes: string): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    const socket = connectTls(
      { host: "127.0.0.1", port, rejectUnauthorized: false },
      () => socket.write(bytes, "latin1")
    )
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1"))))
    return Effect.sync(() => socket.destroy())
  })

const websocketHead = (version: string) =>
  `GET /ws ${version}\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`

describe("HTTP versions on the proxy listener", () => {
  it.live("an HTTP/1.2 GET is served as HTTP/1.1: the backend's 200 and its body", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, "GET /v?x=1 HTTP/1.2\r\nHost: h\r\nConnection: close\r\n\r\n")
      assert.strictEqual(statusOf(raw), 200)
      assert.include(raw, `{"backend":"a","url":"/v?x=1"}`)
      assert.deepStrictEqual(backend.deliveries.map((delivery) => delivery.url), ["/v?x=1"])
    }))

  it.live("an HTTP/1.2 connection is kept alive: the requests after it, HTTP/1.2 or 1.1, are served on it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port)
      const paths = ["/1", "/2", "/3", "/4"]
      const versions = ["HTTP/1.2", "HTTP/1.2", "HTTP/1.1", "HTTP/1.9"]
      for (let i = 0; i < paths.length; i++) {
        client.write(`GET ${paths[i]} ${versions[i]}\r\nHost: h\r\n\r\n`)
        yield* waitUntil(() => statusLines(client.received()).length === i + 1)
      }
      assert.deepStrictEqual(statusLines(client.received()), paths.map(() => "HTTP/1.1 200 OK"))
      assert.deepStrictEqual(backend.deliveries.map((delivery) => delivery.url), paths)
      assert.isFalse(client.closed())
    }))

  it.live("an HTTP/1.2 POST's body reaches the backend whole, by Content-Length or chunked", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const sized = yield* sendRaw(
        proxy.port,
        "POST /sized HTTP/1.2\r\nHost: h\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
      )
      const chunked = yield* sendRaw(
        proxy.port,
        "POST /chunked HTTP/1.2\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
      )
      assert.deepStrictEqual([statusOf(sized), statusOf(chunked)], [200, 200])
      assert.deepStrictEqual(
        backend.deliveries.map((delivery) => [delivery.method, delivery.url, delivery.body?.toString()]),
        [["POST", "/sized", "hello world"], ["POST", "/chunked", "hello world"]]
      )
    }))

  it.live("an HTTP/1.2 request is held to timeouts.headers, and once served its connection gets no 408", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ timeouts: { headers: "300ms" }, backends: [{ url: backend.url }] })
      const served = yield* rawClient(proxy.port)
      served.write("GET /served HTTP/1.2\r\nHost: h\r\n\r\n")
      const stalled = yield* rawClient(proxy.port)
      stalled.write("GET /stalled HTTP/1.2\r\nHost: h\r\n")
      yield* waitUntil(stalled.closed)
      assert.deepStrictEqual(statusLines(stalled.received()), ["HTTP/1.1 408 Request Timeout"])
      // Three checks of the headers-timeout checker (every 300 ms) after the request was served.
      yield* Effect.sleep("1 second")
      assert.deepStrictEqual(statusLines(served.received()), ["HTTP/1.1 200 OK"])
      assert.isFalse(served.closed())
      assert.deepStrictEqual(backend.deliveries.map((delivery) => delivery.url), ["/served"])
    }))

  it.live("over TLS an HTTP/1.2 request is served as HTTP/1.1 too", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({
        server: { tls: { cert: fixture("cert.pem"), key: fixture("key.pem") } },
        backends: [{ url: backend.url }]
      })
      const raw = yield* sendRawTls(
        proxy.port,
        "POST /t HTTP/1.2\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
      )
      assert.deepStrictEqual(statusLines(raw), ["HTTP/1.1 200 OK"])
      assert.deepStrictEqual(backend.deliveries.map((delivery) => [delivery.url, delivery.body?.toString()]), [[
        "/t",
        "hi"
      ]])
    }))

  it.live("an HTTP/1.2 upgrade is tunnelled as an HTTP/1.1 one", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      backend.server.on("upgrade", (_request: IncomingMessage, socket: Duplex) => {
        socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        socket.pipe(socket)
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port)
      client.write("GET /echo HTTP/1.2\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
      yield* waitUntil(() => client.received().includes("\r\n\r\n"))
      client.write("ping")
      yield* waitUntil(() => client.received().endsWith("ping"))
      assert.deepStrictEqual(statusLines(client.received()), ["HTTP/1.1 101 Switching Protocols"])
    }))

  it.live("an HTTP/1.2 request line that arrives in pieces is refused with 505, never guessed at", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port)
      client.write("PROP")
      yield* Effect.sleep("50 millis")
      client.write("PATCH / HTTP/1.2\r\nHost: h\r\n\r\n")
      yield* waitUntil(client.closed)
      assert.deepStrictEqual(statusLines(client.received()), ["HTTP/1.1 505 HTTP Version Not Supported"])
      assert.strictEqual(backend.arrivals(), 0)
    }))

  const refused: ReadonlyArray<readonly [string, string]> = [
    ["HTTP/3.1", "GET / HTTP/3.1\r\nHost: h\r\n\r\n"],
    ["HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n"],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n"],
    ["HTTP/0.9 with a version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n"],
    ["an HTTP/2.0 POST with a body", "POST / HTTP/2.0\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"],
    ["an HTTP/2.0 WebSocket upgrade", websocketHead("HTTP/2.0")]
  ]
  for (const [what, request] of refused) {
    it.live(`${what}: 505 with Connection: close, never forwarded`, () =>
      Effect.gen(function*() {
        const backend = yield* startBackend("a")
        const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
        const raw = yield* sendRaw(proxy.port, request)
        assert.deepStrictEqual(statusLines(raw), ["HTTP/1.1 505 HTTP Version Not Supported"])
        assert.match(raw, /\r\nConnection: close\r\n/i)
        assert.strictEqual(backend.arrivals(), 0)
      }))
  }

  it.live("a version that is not one digit each side of the dot is malformed: 400", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (const version of ["HTTP/1.10", "HTTP/10.1", "HTTP/1"]) {
        const raw = yield* sendRaw(proxy.port, `GET / ${version}\r\nHost: h\r\n\r\n`)
        assert.deepStrictEqual(statusLines(raw), ["HTTP/1.1 400 Bad Request"], version)
      }
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("a refused request pipelined behind another is answered after that one's response, never inside it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        setTimeout(() => response.end("first"), 100)
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (
        const second of ["GET /b HTTP/3.1\r\nHost: h\r\n\r\n", "GET /b HTTP/1.2\r\nHost: h\r\n\r\n", "NOT HTTP\r\n\r\n"]
      ) {
        const raw = yield* sendRaw(proxy.port, `GET /a HTTP/1.1\r\nHost: h\r\n\r\n${second}`)
        assert.deepStrictEqual(statusLines(raw).map((line) => line.slice(9, 12)), [
          "200",
          second === "NOT HTTP\r\n\r\n" ? "400" : "505"
        ])
        assert.include(raw, "\r\n\r\nfirst")
      }
      assert.deepStrictEqual(backend.deliveries.map((delivery) => delivery.url), ["/a", "/a", "/a"])
    }))

  it.live("an HTTP/1.0 request followed by more bytes gets the backend's answer and nothing else", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (const after of ["xyz", "\r\n", "GET /again HTTP/1.0\r\nHost: h\r\n\r\n"]) {
        const raw = yield* sendRaw(proxy.port, `GET /x HTTP/1.0\r\nHost: h\r\n\r\n${after}`)
        assert.deepStrictEqual(statusLines(raw), ["HTTP/1.1 200 OK"], JSON.stringify(after))
        assert.include(raw, `{"backend":"a","url":"/x"}`)
      }
      assert.deepStrictEqual(backend.deliveries.map((delivery) => delivery.url), ["/x", "/x", "/x"])
    }))

  it.live("an HTTP/1.0 connection is closed after its answer though the client keeps sending and never reads it", () =>
    Effect.gen(function*() {
      // 16 MiB: more than the socket buffers hold, so the response can only finish if it is read.
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.end(Buffer.alloc(16 * 1024 * 1024, 0x61))
      })
      const proxy = yield* startProxy({ timeouts: { idle: "500ms" }, backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port, { reads: false })
      client.write("GET /big HTTP/1.0\r\nHost: h\r\n\r\nmore")
      client.drip("more\r\n", 100)
      yield* waitUntil(() => backend.deliveries.length === 1)
      const started = Date.now()
      yield* waitUntil(client.closed)
      assert.isBelow(Date.now() - started, 2_000)
    }))
})
