/**
 * Requests that must not reach a backend as sent: a `Host` that is not one host, a target that
 * names another authority or carries userinfo or a fragment, headers that pass for framing ones,
 * transfer codings the proxy cannot pass on. Raw bytes over real loopback sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { sendRaw, statusOf } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

describe("request integrity", () => {
  it.live("refuses a Host that is not a single host[:port] with 400, before any backend hears of it", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (const host of ["127.0.0.1 evil", "a, b", "a:b", "a/b"]) {
        const raw = yield* sendRaw(proxy.port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
        assert.strictEqual(statusOf(raw), 400, host)
        assert.match(raw, /connection: close/i)
      }
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("sends an absolute-form target's authority as Host, and routes on it", () =>
    Effect.gen(function*() {
      const main = yield* startBackend("main")
      const other = yield* startBackend("other")
      const proxy = yield* startProxy({
        backends: [{ url: main.url }],
        pools: { other: { backends: [{ url: other.url }] } },
        routes: [{ match: { host: "other.example" }, pool: "other" }]
      })
      const raw = yield* sendRaw(
        proxy.port,
        "GET http://other.example/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
      )
      assert.strictEqual(statusOf(raw), 200)
      assert.strictEqual(main.arrivals(), 0)
      const seen = other.deliveries[0]
      assert.strictEqual(seen?.url, "/x?y=1")
      assert.strictEqual(seen?.headers["host"], "other.example")
      assert.strictEqual(seen?.headers["x-forwarded-host"], "other.example")
    }))

  it.live("refuses userinfo or a fragment in the target with 400", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      for (const target of ["http://user:pass@127.0.0.1/", "/x#fragment", "http://a.example/x#f"]) {
        const raw = yield* sendRaw(proxy.port, `GET ${target} HTTP/1.1\r\nHost: a.example\r\n\r\n`)
        assert.strictEqual(statusOf(raw), 400, target)
      }
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("never forwards Transfer_Encoding or Content_Length, the underscore spellings of framing headers", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(
        proxy.port,
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent_Length: 0\r\nX_Forwarded_For: 6.6.6.6\r\n" +
          "X_Other: kept\r\nConnection: close\r\n\r\n"
      )
      assert.strictEqual(statusOf(raw), 200)
      const names = (backend.deliveries[0]?.rawHeaders ?? []).filter((_, i) => i % 2 === 0)
      assert.notInclude(names, "Transfer_Encoding")
      assert.notInclude(names, "Content_Length")
      assert.notInclude(names, "X_Forwarded_For")
      assert.include(names, "X_Other")
    }))

  it.live("answers a transfer coding other than chunked with 501 and never de-chunks it for a backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(
        proxy.port,
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
      )
      assert.strictEqual(statusOf(raw), 501)
      assert.match(raw, /connection: close/i)
      assert.strictEqual(backend.arrivals(), 0)
    }))
})
