/**
 * The admin listener's routes, over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { makeTokenCheck } from "../../src/admin/Authorization.ts"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const json = (text: string): Record<string, unknown> => JSON.parse(text)

describe("admin API", () => {
  it.live("/status and /ping report version, strategy and each backend's counters", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const b = yield* startBackend("b")
      const proxy = yield* startProxy({
        strategy: "weighted-round-robin",
        backends: [{ name: "a", url: a.url, weight: 2 }, { name: "b", url: b.url, maxConnections: 5 }]
      })
      for (let i = 0; i < 3; i++) yield* send(proxy.url)
      const status = json((yield* send(proxy.adminUrl, { path: "/status" })).text)
      assert.strictEqual(status["strategy"], "weighted-round-robin")
      assert.match(String(status["version"]), /^\d+\.\d+\.\d+/)
      const backends = status["backends"] as { total: number; available: number; list: Array<Record<string, unknown>> }
      assert.strictEqual(backends.total, 2)
      assert.strictEqual(backends.available, 2)
      assert.deepStrictEqual(
        backends.list.map((b) => [
          b["name"],
          b["weight"],
          b["maxConnections"],
          b["requests"],
          b["inFlight"],
          b["failures"]
        ]),
        [["a", 2, null, 2, 0, 0], ["b", 1, 5, 1, 0, 0]]
      )
      const ping = yield* send(proxy.adminUrl, { path: "/ping" })
      assert.strictEqual(ping.status, 200)
      assert.deepStrictEqual(Object.keys(json(ping.text)), Object.keys(status))
    }))

  it.live("/health is 200 while a backend is eligible and 503 when none is", () =>
    Effect.gen(function*() {
      const held: Array<() => void> = []
      const backend = yield* startBackend("a", (request, response) => {
        request.resume()
        held.push(() => response.end())
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url, maxConnections: 1 }] })
      const healthy = yield* send(proxy.adminUrl, { path: "/health" })
      assert.strictEqual(healthy.status, 200)
      assert.deepStrictEqual(json(healthy.text), { status: "ok", availableBackends: 1 })
      const busy = yield* Effect.forkChild(send(proxy.url))
      yield* waitUntil(() => backend.arrivals() === 1)
      const saturated = yield* send(proxy.adminUrl, { path: "/health" })
      assert.strictEqual(saturated.status, 503)
      assert.deepStrictEqual(json(saturated.text), { status: "unavailable", availableBackends: 0 })
      held.forEach((release) => release())
      yield* Fiber.join(busy)
    }))

  it.live("with admin.token, every route but /health needs the bearer token", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ admin: { token: "s3cret-token" }, backends: [{ url: backend.url }] })
      const anonymous = yield* send(proxy.adminUrl, { path: "/status" })
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.headers["www-authenticate"], "Bearer")
      const wrong = yield* send(proxy.adminUrl, { path: "/status", headers: { authorization: "Bearer s3cret-tokeN" } })
      assert.strictEqual(wrong.status, 401)
      const right = yield* send(proxy.adminUrl, { path: "/ping", headers: { authorization: "Bearer s3cret-token" } })
      assert.strictEqual(right.status, 200)
      assert.strictEqual((yield* send(proxy.adminUrl, { path: "/health" })).status, 200)
    }))

  it.live("unknown admin routes are 404; the proxy listener reserves no path", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      assert.strictEqual((yield* send(proxy.adminUrl, { path: "/nope" })).status, 404)
      for (const path of ["/health", "/status", "/metrics"]) {
        assert.strictEqual((yield* send(proxy.url, { path })).status, 200)
      }
      assert.deepStrictEqual(backend.deliveries.map((d) => d.url), ["/health", "/status", "/metrics"])
    }))
})

describe("admin token check", () => {
  it("accepts exactly the configured bearer token", () => {
    const check = makeTokenCheck("t0k")
    assert.isTrue(check("Bearer t0k"))
    assert.isTrue(check("bearer   t0k"))
    for (const header of [undefined, "", "t0k", "Bearer", "Bearer t0", "Bearer t0kk", "Basic t0k"]) {
      assert.isFalse(check(header), String(header))
    }
    assert.isTrue(makeTokenCheck(undefined)(undefined))
  })
})
