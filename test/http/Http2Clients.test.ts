/**
 * HTTP/2 clients over real loopback sockets: TLS with ALPN h2, and prior-knowledge h2c on the
 * plain listener, in front of plain HTTP/1.1 backends. Each stream goes the way an HTTP/1.1
 * request goes (routing, rate limit, cache, metrics), pseudo-headers become the request line and
 * `Host`, and what HTTP/2 forbids never reaches a backend.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { Readable } from "node:stream"
import { connect } from "node:tls"
import { startBackend } from "../support/Backends.ts"
import type { Handler } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { frameTypes, h2Request, openSession, rawH2Request } from "../support/Http2Client.ts"
import { startProxy } from "../support/Proxy.ts"

const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname
const cert = fixture("cert.pem")
const key = fixture("key.pem")
const ca = readFileSync(cert, "utf8")

/** Answers with what it was sent: method, target, the headers the proxy forwards, and the body's size. */
const mirror: Handler = (request, response) => {
  let bytes = 0
  request.on("data", (chunk: Buffer) => (bytes += chunk.length))
  request.on("end", () => {
    response.setHeader("set-cookie", ["a=1", "b=2"])
    response.setHeader("content-type", "application/json")
    response.end(JSON.stringify({
      method: request.method,
      url: request.url,
      host: request.headers.host,
      forwardedFor: request.headers["x-forwarded-for"],
      forwardedProto: request.headers["x-forwarded-proto"],
      transferEncoding: request.headers["transfer-encoding"] ?? null,
      contentLength: request.headers["content-length"] ?? null,
      pseudo: request.rawHeaders.filter((name, index) => index % 2 === 0 && name.startsWith(":")),
      bytes
    }))
  })
}

describe("HTTP/2 clients", () => {
  it.live("h2c with prior knowledge: the stream's pseudo-headers are the request line and Host; HTTP/1.1 is still served on the port", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", mirror)
      const proxy = yield* startProxy({ server: { h2c: true }, backends: [{ url: backend.url }] })
      const session = yield* openSession(proxy.url)
      const reply = yield* h2Request(session, { path: "/a%2Fb?x=1&y=%20" })
      assert.strictEqual(reply.status, 200)
      const seen = JSON.parse(reply.text)
      assert.deepStrictEqual(seen, {
        method: "GET",
        url: "/a%2Fb?x=1&y=%20",
        host: `127.0.0.1:${proxy.port}`,
        forwardedFor: "127.0.0.1",
        forwardedProto: "http",
        transferEncoding: null,
        contentLength: null,
        pseudo: [],
        bytes: 0
      })
      assert.deepStrictEqual(reply.headers["set-cookie"], ["a=1", "b=2"])
      assert.match(String(reply.headers["x-request-id"]), /^[0-9a-f-]{36}$/)
      const plain = yield* send(proxy.url, { path: "/h1" })
      assert.strictEqual(plain.status, 200)
      assert.strictEqual(JSON.parse(plain.text).url, "/h1")
    }))

  it.live("a request body without Content-Length streams through as chunked to an HTTP/1.1 backend, byte for byte", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", mirror)
      const proxy = yield* startProxy({ server: { h2c: true }, backends: [{ url: backend.url }] })
      const session = yield* openSession(proxy.url)
      const chunks = Array.from({ length: 64 }, (_, index) => Buffer.alloc(64 * 1024, index))
      const reply = yield* h2Request(session, { method: "PUT", path: "/upload", body: Readable.from(chunks) })
      assert.strictEqual(reply.status, 200)
      const seen = JSON.parse(reply.text)
      assert.strictEqual(seen.transferEncoding, "chunked")
      assert.strictEqual(seen.contentLength, null)
      assert.strictEqual(seen.bytes, 64 * 64 * 1024)
      assert.strictEqual(
        backend.deliveries[0]?.bodySha256,
        createHash("sha256").update(Buffer.concat(chunks)).digest("hex")
      )
      const declared = yield* h2Request(session, {
        method: "POST",
        path: "/sized",
        headers: { "content-length": "5" },
        body: "hello"
      })
      assert.strictEqual(JSON.parse(declared.text).contentLength, "5")
    }))

  it.live("over TLS, ALPN offers h2 and http/1.1: an h2 client gets h2, an HTTP/1.1 client HTTP/1.1", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", mirror)
      const proxy = yield* startProxy({ server: { tls: { cert, key } }, backends: [{ url: backend.url }] })
      const url = `https://127.0.0.1:${proxy.port}`
      const session = yield* openSession(url, { ca })
      assert.strictEqual(session.alpnProtocol, "h2")
      const reply = yield* h2Request(session, { path: "/secure" })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(JSON.parse(reply.text).forwardedProto, "https")
      const chosen = yield* Effect.callback<string | false | null>((resume) => {
        const socket = connect({
          host: "127.0.0.1",
          port: proxy.port,
          ca,
          servername: "localhost",
          ALPNProtocols: ["http/1.1"]
        })
        socket.on("secureConnect", () => {
          resume(Effect.succeed(socket.alpnProtocol))
          socket.end()
        })
      })
      assert.strictEqual(chosen, "http/1.1")
    }))

  it.live("without server.h2c the plain listener refuses the HTTP/2 preface, and no backend hears of it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", mirror)
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const frames = yield* rawH2Request(proxy.port, [[":method", "GET"], [":path", "/"], [":scheme", "http"], [
        ":authority",
        "x"
      ]])
      assert.isFalse(frames.some((frame) => frame.type === frameTypes.headers))
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("connection-specific headers make a stream malformed (RFC 9113 §8.2.2): reset with PROTOCOL_ERROR, never forwarded", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", mirror)
      const proxy = yield* startProxy({ server: { h2c: true }, backends: [{ url: backend.url }] })
      const base: ReadonlyArray<readonly [string, string]> = [
        [":method", "GET"],
        [":path", "/"],
        [":scheme", "http"],
        [":authority", "127.0.0.1"]
      ]
      for (
        const forbidden of [["connection", "close"], ["transfer-encoding", "chunked"], ["te", "gzip"], [
          "upgrade",
          "websocket"
        ], ["keep-alive", "timeout=5"]] as const
      ) {
        const frames = yield* rawH2Request(proxy.port, [...base, forbidden], 500)
        const reset = frames.find((frame) => frame.type === frameTypes.rstStream && frame.stream === 1)
        assert.isDefined(reset, `${forbidden[0]} gets RST_STREAM`)
        assert.strictEqual(reset?.payload.readUInt32BE(0), 1, "PROTOCOL_ERROR")
      }
      assert.strictEqual(backend.arrivals(), 0)
      // The same request without them is served.
      const frames = yield* rawH2Request(proxy.port, base, 1_000)
      assert.isTrue(frames.some((frame) => frame.type === frameTypes.headers && frame.stream === 1))
    }))

  it.live("a Host beside :authority must name the same authority; routing uses :authority", () =>
    Effect.gen(function*() {
      const api = yield* startBackend("api", mirror)
      const other = yield* startBackend("other", mirror)
      const proxy = yield* startProxy({
        server: { h2c: true },
        backends: [{ url: other.url }],
        pools: { api: { backends: [{ url: api.url }] } },
        routes: [{ match: { host: "api.example" }, pool: "api" }]
      })
      const session = yield* openSession(proxy.url)
      const routed = yield* h2Request(session, { path: "/r", headers: { ":authority": "api.example" } })
      assert.strictEqual(JSON.parse(routed.text).host, "api.example")
      assert.strictEqual(api.arrivals(), 1)
      const mismatch = yield* h2Request(session, {
        path: "/r",
        headers: { ":authority": "api.example", host: "evil.example" }
      })
      assert.strictEqual(mismatch.status, 400)
      assert.strictEqual(api.arrivals() + other.arrivals(), 1)
    }))

  it.live("streams are rate-limited, cached and counted like HTTP/1.1 requests", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b", (request, response) => {
        request.resume()
        response.setHeader("cache-control", "max-age=60")
        response.end("cached body")
      })
      const proxy = yield* startProxy({
        server: { h2c: true },
        cache: {},
        rateLimit: { requestsPerSecond: 0.1, burst: 3 },
        backends: [{ url: backend.url, name: "b" }]
      })
      const session = yield* openSession(proxy.url)
      const first = yield* h2Request(session, { path: "/c" })
      const second = yield* h2Request(session, { path: "/c" })
      assert.strictEqual(first.headers["x-cache"], "MISS")
      assert.strictEqual(second.headers["x-cache"], "HIT")
      assert.strictEqual(second.text, "cached body")
      yield* h2Request(session, { path: "/c" })
      const limited = yield* h2Request(session, { path: "/c" })
      assert.strictEqual(limited.status, 429)
      assert.isDefined(limited.headers["retry-after"])
      assert.strictEqual(backend.arrivals(), 1)
      const metrics = yield* send(proxy.adminUrl, { path: "/metrics" })
      assert.match(metrics.text, /lb_requests_total\{backend="b",method="GET",status="200"\} 1\b/)
      assert.match(metrics.text, /lb_rate_limited_requests_total 1\b/)
    }))
})
