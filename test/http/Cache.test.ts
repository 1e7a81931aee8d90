/**
 * The response cache through the real proxy: hits and misses, what is never stored, variants,
 * LRU eviction, expiry on the TestClock, and concurrent misses coalesced into one request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import type { ServerResponse } from "node:http"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

const byText = (a: string, b: string) => a.localeCompare(b)

/** A backend answering with the headers the test puts in the query, e.g. `?cc=max-age%3D60`. */
const configurable = (delayMs = 0) =>
  startBackend("origin", (request, response: ServerResponse) => {
    request.resume()
    const query = new URL(request.url ?? "/", "http://x").searchParams
    const headers: Record<string, string> = { "content-type": "text/plain" }
    if (query.get("cc") !== null) headers["cache-control"] = query.get("cc") ?? ""
    if (query.get("vary") !== null) headers["vary"] = query.get("vary") ?? ""
    if (query.get("cookie") !== null) headers["set-cookie"] = "session=1"
    const body = `${request.url} ${request.headers["accept-encoding"] ?? ""}`
    setTimeout(() => {
      response.writeHead(200, headers)
      response.end(body)
    }, delayMs)
  })

describe("response cache", () => {
  it.live("a cacheable GET is fetched once, then served as a HIT with Age; HEAD uses it too", () =>
    Effect.gen(function*() {
      const origin = yield* configurable()
      const proxy = yield* startProxy({ cache: {}, backends: [{ url: origin.url }] })
      const path = "/page?cc=max-age%3D60"
      const first = yield* send(proxy.url, { path })
      const second = yield* send(proxy.url, { path })
      const head = yield* send(proxy.url, { path, method: "HEAD" })
      assert.deepStrictEqual([first.headers["x-cache"], second.headers["x-cache"], head.headers["x-cache"]], [
        "MISS",
        "HIT",
        "HIT"
      ])
      assert.strictEqual(second.text, first.text)
      assert.strictEqual(second.headers["age"], "0")
      assert.strictEqual(second.headers["cache-control"], "max-age=60")
      assert.notStrictEqual(second.headers["x-request-id"], first.headers["x-request-id"], "each answer has its own id")
      assert.strictEqual(head.body.length, 0)
      assert.strictEqual(origin.deliveries.length, 1)
      const metrics = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.include(metrics, `lb_requests_total{backend="cache",method="GET",status="200"} 1`)
    }))

  it.live("never stores no-store, private, Set-Cookie or unstated freshness; never serves no-cache requests", () =>
    Effect.gen(function*() {
      const origin = yield* configurable()
      const proxy = yield* startProxy({ cache: {}, backends: [{ url: origin.url }] })
      for (const path of ["/a?cc=no-store", "/b?cc=private%2Cmax-age%3D60", "/c?cc=max-age%3D60&cookie=1", "/d"]) {
        yield* send(proxy.url, { path })
        const again = yield* send(proxy.url, { path })
        assert.strictEqual(again.headers["x-cache"], "MISS", path)
      }
      yield* send(proxy.url, { path: "/e?cc=max-age%3D60" })
      const forced = yield* send(proxy.url, { path: "/e?cc=max-age%3D60", headers: { "cache-control": "no-cache" } })
      assert.strictEqual(forced.headers["x-cache"], undefined, "a no-cache request bypasses the cache")
      const posted = yield* send(proxy.url, { path: "/e?cc=max-age%3D60", method: "POST", body: "x" })
      assert.isUndefined(posted.headers["x-cache"])
      assert.strictEqual(origin.deliveries.length, 11)
    }))

  it.live("keeps a variant per Vary header value", () =>
    Effect.gen(function*() {
      const origin = yield* configurable()
      const proxy = yield* startProxy({ cache: {}, backends: [{ url: origin.url }] })
      const path = "/v?cc=max-age%3D60&vary=Accept-Encoding"
      const gzip = { "accept-encoding": "gzip" }
      const br = { "accept-encoding": "br" }
      const replies = [
        yield* send(proxy.url, { path, headers: gzip }),
        yield* send(proxy.url, { path, headers: br }),
        yield* send(proxy.url, { path, headers: gzip }),
        yield* send(proxy.url, { path, headers: br })
      ]
      assert.deepStrictEqual(replies.map((r) => r.headers["x-cache"]), ["MISS", "MISS", "HIT", "HIT"])
      assert.isTrue(replies[2]?.text.endsWith("gzip"))
      assert.isTrue(replies[3]?.text.endsWith("br"))
    }))

  it.live("evicts the least recently used response beyond maxEntries", () =>
    Effect.gen(function*() {
      const origin = yield* configurable()
      const proxy = yield* startProxy({ cache: { maxEntries: 2 }, backends: [{ url: origin.url }] })
      for (const page of ["a", "b", "c"]) yield* send(proxy.url, { path: `/${page}?cc=max-age%3D60` })
      const statuses = []
      for (const page of ["c", "b", "a"]) {
        statuses.push((yield* send(proxy.url, { path: `/${page}?cc=max-age%3D60` })).headers["x-cache"])
      }
      assert.deepStrictEqual(statuses, ["HIT", "HIT", "MISS"])
    }))

  it.effect("a response expires after its max-age, capped by cache.ttl, on the clock", () =>
    Effect.gen(function*() {
      const origin = yield* configurable()
      const proxy = yield* startProxy({ cache: { ttl: "30s" }, backends: [{ url: origin.url }] })
      const get = (path: string) => send(proxy.url, { path }).pipe(Effect.map((r) => r.headers["x-cache"]))
      yield* get("/short?cc=max-age%3D10")
      yield* get("/long?cc=max-age%3D3600")
      yield* TestClock.adjust("9 seconds")
      assert.deepStrictEqual([yield* get("/short?cc=max-age%3D10"), yield* get("/long?cc=max-age%3D3600")], [
        "HIT",
        "HIT"
      ])
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* get("/short?cc=max-age%3D10"), "MISS")
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(yield* get("/long?cc=max-age%3D3600"), "MISS", "cache.ttl caps a long max-age")
    }))

  it.live("concurrent misses for one key make one upstream request", () =>
    Effect.gen(function*() {
      const origin = yield* configurable(100)
      const proxy = yield* startProxy({ cache: {}, backends: [{ url: origin.url }] })
      const replies = yield* Effect.all(
        Array.from({ length: 10 }, () => send(proxy.url, { path: "/hot?cc=max-age%3D60" })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(origin.deliveries.length, 1)
      assert.deepStrictEqual([...new Set(replies.map((r) => r.status))], [200])
      assert.deepStrictEqual([...new Set(replies.map((r) => r.text))], ["/hot?cc=max-age%3D60 "])
      assert.deepStrictEqual(
        replies.map((r) => String(r.headers["x-cache"])).sort(byText),
        [...Array<string>(9).fill("HIT"), "MISS"].sort(byText)
      )
    }))

  it.live("concurrent misses for an uncacheable response each go upstream at once", () =>
    Effect.gen(function*() {
      const origin = yield* configurable(50)
      const proxy = yield* startProxy({ cache: {}, backends: [{ url: origin.url }] })
      const replies = yield* Effect.all(
        Array.from({ length: 5 }, () => send(proxy.url, { path: "/dynamic?cc=no-store" })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(origin.deliveries.length, 5)
      assert.deepStrictEqual([...new Set(replies.map((r) => r.headers["x-cache"]))], ["MISS"])
    }))
})
