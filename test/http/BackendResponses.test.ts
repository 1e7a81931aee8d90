/**
 * Responses a backend may send that must not reach the client as sent: interim `1xx` heads
 * before the final one, a `204`/`304` that announces a body, a doubly chunked body. Raw backends
 * over real loopback sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startRawBackend } from "../support/Backends.ts"
import { sendRaw, statusOf } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

const final = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`
const pathOf = (head: string) => head.split(" ")[1] ?? ""
const injected = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Injected: yes\r\n\r\nsmuggled"

/** Two requests on one client connection, the second closing it. */
const twoRequests = (first: string, version = "1.1") =>
  `GET ${first} HTTP/${version}\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`

describe("backend responses", () => {
  it.live("relays 103 Early Hints and 102 Processing to an HTTP/1.1 client, then the final response", () =>
    Effect.gen(function*() {
      const backend = yield* startRawBackend((socket, head) => {
        if (pathOf(head) === "/hints") {
          socket.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
          setTimeout(() => socket.write("HTTP/1.1 102 Processing\r\n\r\n"), 20)
          setTimeout(() => socket.write(final("first")), 40)
        } else socket.write(final("second"))
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, twoRequests("/hints"))
      const heads = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]))
      assert.deepStrictEqual(heads, [103, 102, 200, 200])
      assert.match(raw, /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload\r\n/)
      assert.match(raw, /\r\n\r\nfirst/)
      assert.match(raw, /\r\n\r\nsecond$/)
    }))

  it.live("sends no interim response to an HTTP/1.0 client, only the final one", () =>
    Effect.gen(function*() {
      const backend = yield* startRawBackend((socket) => {
        socket.write("HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n")
        socket.write(final("done"))
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, "GET / HTTP/1.0\r\nHost: a\r\n\r\n")
      assert.strictEqual(statusOf(raw), 200)
      assert.notInclude(raw, "103")
      assert.match(raw, /\r\n\r\ndone$/)
    }))

  it.live("gives a 204 or 304 no body and no framing headers, and never reads what follows as a response", () =>
    Effect.gen(function*() {
      for (const status of ["204 No Content", "304 Not Modified"]) {
        const backend = yield* startRawBackend((socket, head) => {
          if (pathOf(head) === "/first") {
            socket.write(`HTTP/1.1 ${status}\r\nContent-Length: ${injected.length}\r\nETag: "x"\r\n\r\n${injected}`)
          } else socket.write(final("second"))
        })
        const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
        const raw = yield* sendRaw(proxy.port, twoRequests("/first"))
        const [firstHead = "", rest = ""] = raw.split("\r\n\r\n")
        assert.match(firstHead, new RegExp(`^HTTP/1\\.1 ${status}`))
        assert.notMatch(firstHead, /content-length|transfer-encoding/i)
        assert.match(firstHead, /etag: "x"/i)
        assert.notInclude(raw, "X-Injected")
        assert.notInclude(raw, "smuggled")
        assert.match(rest, /^HTTP\/1\.1 200 OK/)
        assert.match(raw, /\r\n\r\nsecond$/)
        // The connection that carried the lying 204/304 is not reused for the next request.
        assert.strictEqual(backend.connections(), 2)
      }
    }))

  it.live("a response sent on an idle connection, asked for by no request, is never read as the next one's", () =>
    Effect.gen(function*() {
      const backend = yield* startRawBackend((socket, head) => {
        if (pathOf(head) !== "/first") return void socket.write(final("second"))
        socket.write(final("first"))
        setTimeout(() => socket.write(injected), 20)
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      assert.match(yield* sendRaw(proxy.port, "GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), /first$/)
      yield* Effect.sleep("100 millis")
      const second = yield* sendRaw(proxy.port, "GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
      assert.match(second, /\r\n\r\nsecond$/)
      assert.notInclude(second, "smuggled")
      assert.strictEqual(backend.connections(), 2)
    }))

  it.live("answers 502 for a response chunked twice", () =>
    Effect.gen(function*() {
      const backend = yield* startRawBackend((socket) =>
        socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
      )
      const proxy = yield* startProxy({ backends: [{ url: backend.url }], retry: { attempts: 1 } })
      const raw = yield* sendRaw(proxy.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
      assert.strictEqual(statusOf(raw), 502)
      assert.notInclude(raw, "hello")
    }))
})
