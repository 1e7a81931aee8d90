/**
 * The proxying rules of the contract, through the real proxy, over real loopback sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { request as httpRequest } from "node:http"
import { Readable } from "node:stream"
import { startBackend } from "../support/Backends.ts"
import { send, sendRaw, statusOf } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

const json = (text: string): Record<string, unknown> => JSON.parse(text)

describe("proxying", () => {
  it.live("spreads requests over the pool in turn (round robin)", () =>
    Effect.gen(function*() {
      const backends = yield* Effect.forEach(["a", "b", "c"], (name) => startBackend(name))
      const proxy = yield* startProxy({ backends: backends.map((b) => ({ name: b.name, url: b.url })) })
      const answers: Array<unknown> = []
      for (let i = 0; i < 6; i++) answers.push(json((yield* send(proxy.url, { path: `/n/${i}` })).text)["backend"])
      assert.deepStrictEqual(answers, ["a", "b", "c", "a", "b", "c"])
      assert.deepStrictEqual(backends.map((b) => b.deliveries.length), [2, 2, 2])
    }))

  it.live("passes path and query byte-for-byte, %2F and // included", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const target = "/a%2Fb//c/./d/../e?x=%2F&y=a+b&z=%zz&&empty="
      const raw = yield* sendRaw(
        proxy.port,
        `GET ${target} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`
      )
      assert.strictEqual(statusOf(raw), 200)
      assert.strictEqual(backend.deliveries[0]?.url, target)
    }))

  it.live("prepends the backend URL's path prefix", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: `${backend.url}/api/v1/` }] })
      yield* send(proxy.url, { path: "/users?id=7" })
      assert.strictEqual(backend.deliveries[0]?.url, "/api/v1/users?id=7")
    }))

  it.live("sets X-Forwarded-*, keeps Host, and generates and echoes X-Request-Id", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url, {
        headers: { host: "shop.example:8443", "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" }
      })
      const seen = backend.deliveries[0]?.headers
      assert.strictEqual(seen?.["host"], "shop.example:8443")
      assert.strictEqual(seen?.["x-forwarded-for"], "203.0.113.9, 127.0.0.1")
      // Without trustProxy, a client cannot claim its own scheme or host.
      assert.strictEqual(seen?.["x-forwarded-proto"], "http")
      assert.strictEqual(seen?.["x-forwarded-host"], "shop.example:8443")
      const id = seen?.["x-request-id"]
      assert.match(String(id), /^[0-9a-f-]{36}$/)
      assert.strictEqual(reply.headers["x-request-id"], id)
    }))

  it.live("passes a client's X-Request-Id through and echoes it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url, { headers: { "x-request-id": "req-42" } })
      assert.strictEqual(backend.deliveries[0]?.headers["x-request-id"], "req-42")
      assert.strictEqual(reply.headers["x-request-id"], "req-42")
    }))

  it.live("trusts X-Forwarded-Proto and -Host from the client only with trustProxy", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ trustProxy: true, backends: [{ url: backend.url }] })
      yield* send(proxy.url, { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "edge.example" } })
      assert.strictEqual(backend.deliveries[0]?.headers["x-forwarded-proto"], "https")
      assert.strictEqual(backend.deliveries[0]?.headers["x-forwarded-host"], "edge.example")
    }))

  it.live("strips hop-by-hop headers and those named in Connection, both ways", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.setHeader("connection", "x-backend-secret")
        response.setHeader("x-backend-secret", "internal")
        response.setHeader("keep-alive", "timeout=5")
        response.setHeader("x-visible", "yes")
        response.end("ok")
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(
        proxy.port,
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Client-Secret\r\nX-Client-Secret: s3cret\r\n" +
          "Keep-Alive: timeout=9\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: x\r\nUpgrade: h2c\r\n" +
          "X-Kept: 1\r\n\r\n"
      )
      const seen = backend.deliveries[0]?.headers ?? {}
      for (const name of ["x-client-secret", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]) {
        assert.isUndefined(seen[name], `${name} reached the backend`)
      }
      assert.strictEqual(seen["x-kept"], "1")
      assert.strictEqual(statusOf(raw), 200)
      assert.notInclude(raw.toLowerCase(), "x-backend-secret")
      assert.notInclude(raw.toLowerCase(), "timeout=5")
      assert.include(raw.toLowerCase(), "x-visible: yes")
    }))

  it.live("keeps repeated response headers such as Set-Cookie intact", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.setHeader("set-cookie", ["a=1; Path=/", "b=2; HttpOnly", "c=3, with comma"])
        response.end("ok")
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const reply = yield* send(proxy.url)
      assert.deepStrictEqual(reply.headers["set-cookie"], ["a=1; Path=/", "b=2; HttpOnly", "c=3, with comma"])
    }))

  it.live("passes the status, its reason and a 404 body unchanged", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.writeHead(404, "Nope", { "content-type": "text/plain" })
        response.end("not here")
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
      assert.match(raw, /^HTTP\/1\.1 404 Nope\r\n/)
      const reply = yield* send(proxy.url, { path: "/x" })
      assert.strictEqual(reply.status, 404)
      assert.strictEqual(reply.text, "not here")
    }))

  it.live("streams a response as it is produced (server-sent events)", () =>
    Effect.gen(function*() {
      let release: () => void = () => undefined
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write("data: first\n\n")
        release = () => response.end("data: last\n\n")
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const first = yield* Effect.callback<string, Error>((resume) => {
        const request = httpRequest(`${proxy.url}/events`, (response) => {
          response.once("data", (chunk: Buffer) => {
            resume(Effect.succeed(chunk.toString()))
            release()
            response.resume()
          })
        })
        request.on("error", (error) => resume(Effect.fail(error)))
        request.end()
      })
      assert.strictEqual(first, "data: first\n\n")
    }))

  it.live("answers HEAD and 204 without a body", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        if (request.method === "HEAD") {
          response.writeHead(200, { "content-length": "1234" })
          response.end()
        } else {
          response.writeHead(204)
          response.end()
        }
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const head = yield* send(proxy.url, { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.headers["content-length"], "1234")
      assert.strictEqual(head.body.length, 0)
      const empty = yield* send(proxy.url, { method: "DELETE" })
      assert.strictEqual(empty.status, 204)
    }))

  it.live("forwards request bodies of declared and of chunked length intact", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      yield* send(proxy.url, { method: "POST", body: "hello", headers: { "content-type": "text/plain" } })
      yield* send(proxy.url, { method: "PUT", body: Readable.from([Buffer.from("chunk-1 "), Buffer.from("chunk-2")]) })
      const sha = (text: string) => createHash("sha256").update(text).digest("hex")
      assert.strictEqual(backend.deliveries[0]?.bodySha256, sha("hello"))
      assert.strictEqual(backend.deliveries[0]?.headers["content-length"], "5")
      assert.strictEqual(backend.deliveries[1]?.bodySha256, sha("chunk-1 chunk-2"))
      // A chunked body that has fully arrived may be re-framed with its length (nginx does the same).
      const framing = backend.deliveries[1]?.headers
      assert.isTrue(framing?.["transfer-encoding"] === "chunked" || framing?.["content-length"] === "15")
    }))

  it.live("answers Expect: 100-continue itself and forwards the body", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(
        proxy.port,
        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc"
      )
      assert.match(raw, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/)
      assert.strictEqual(backend.deliveries[0]?.bodyBytes, 3)
      assert.isUndefined(backend.deliveries[0]?.headers["expect"])
    }))
})
