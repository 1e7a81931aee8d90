/**
 * Resilience through the real proxy: retries around a dead backend, health checks taking a
 * backend out and back, the breaker shutting out a failing one, and the one rule that must never
 * bend: a POST whose bytes reached a backend is never sent again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { closedPort, startBackend } from "../support/Backends.ts"
import type { TestBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const json = (text: string): Record<string, unknown> => JSON.parse(text)

/** Stops a backend for good: no listener, every open connection cut. */
const kill = (backend: TestBackend) =>
  Effect.sync(() => {
    backend.server.close()
    backend.server.closeAllConnections()
  })

const served = (backend: TestBackend) => backend.deliveries.filter((d) => d.url !== "/health").length

describe("resilience", () => {
  it.live("GETs keep succeeding through retries when a backend dies", () =>
    Effect.gen(function*() {
      const backends = yield* Effect.forEach(["a", "b", "c"], (name) => startBackend(name))
      const proxy = yield* startProxy({
        retry: { attempts: 3, baseDelay: "5ms", maxDelay: "20ms" },
        backends: backends.map((b) => ({ name: b.name, url: b.url }))
      })
      const victim = backends[1]
      if (victim === undefined) return
      yield* kill(victim)
      for (let i = 0; i < 30; i++) {
        const reply = yield* send(proxy.url, { path: `/item/${i}` })
        assert.strictEqual(reply.status, 200, `request ${i}`)
        assert.notStrictEqual(json(reply.text)["backend"], "b")
      }
      const b = proxy.registry.get("b")
      assert.isAtLeast(b?.failures ?? 0, 1)
      assert.strictEqual(
        (proxy.registry.get("a")?.retries ?? 0) + (proxy.registry.get("c")?.retries ?? 0),
        b?.failures,
        "every request that failed on b was retried elsewhere"
      )
    }))

  it.live("a POST whose body reached a backend that then reset is delivered exactly once and answered 502", () =>
    Effect.gen(function*() {
      const resetter = yield* startBackend("resetter", (request) => request.on("end", () => request.socket.destroy()))
      const healthy = yield* startBackend("healthy")
      const proxy = yield* startProxy({
        retry: { attempts: 3, baseDelay: "5ms", maxDelay: "20ms" },
        backends: [{ name: "resetter", url: resetter.url }, { name: "healthy", url: healthy.url }]
      })
      const reply = yield* send(proxy.url, { method: "POST", path: "/orders", body: "{\"order\":1}" })
      assert.strictEqual(reply.status, 502)
      assert.strictEqual(resetter.deliveries.length, 1)
      assert.strictEqual(resetter.deliveries[0]?.bodyBytes, 11)
      assert.strictEqual(healthy.deliveries.length, 0, "the POST was not sent a second time")
    }))

  it.live("a POST whose connection was refused goes to another backend, once", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const healthy = yield* startBackend("healthy")
      const proxy = yield* startProxy({
        retry: { attempts: 2, baseDelay: "5ms", maxDelay: "20ms" },
        backends: [{ name: "gone", url: `http://127.0.0.1:${port}` }, { name: "healthy", url: healthy.url }]
      })
      const reply = yield* send(proxy.url, { method: "POST", path: "/orders", body: "abc" })
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(healthy.deliveries.map((d) => [d.method, d.bodyBytes]), [["POST", 3]])
      assert.strictEqual(proxy.registry.get("healthy")?.retries, 1)
    }))

  it.live("a backend whose /health turns 500 leaves the rotation and returns, without a restart", () =>
    Effect.gen(function*() {
      const health = { code: 200 }
      const flaky = yield* startBackend("flaky", (request, response) => {
        request.resume()
        if (request.url === "/health") response.writeHead(health.code)
        response.end("flaky")
      })
      const steady = yield* startBackend("steady")
      const proxy = yield* startProxy({
        healthCheck: { interval: "50ms", timeout: "40ms", unhealthyThreshold: 2, healthyThreshold: 2 },
        backends: [{ name: "flaky", url: flaky.url }, { name: "steady", url: steady.url }]
      })
      yield* Effect.forEach(Array.from({ length: 4 }), () => send(proxy.url))
      assert.strictEqual(served(flaky), 2)

      health.code = 500
      yield* waitUntil(() => proxy.registry.get("flaky")?.healthy === false)
      const before = served(flaky)
      yield* Effect.forEach(Array.from({ length: 6 }), () => send(proxy.url))
      assert.strictEqual(served(flaky), before, "no traffic while unhealthy")

      health.code = 200
      yield* waitUntil(() => proxy.registry.get("flaky")?.healthy === true)
      yield* Effect.forEach(Array.from({ length: 4 }), () => send(proxy.url))
      assert.strictEqual(served(flaky), before + 2, "back in rotation")
    }))

  it.live("a backend answering 500s gets its circuit opened and stops receiving traffic", () =>
    Effect.gen(function*() {
      const failing = yield* startBackend("failing", (request, response) => {
        request.resume()
        response.writeHead(500)
        response.end("boom")
      })
      const ok = yield* startBackend("ok")
      const proxy = yield* startProxy({
        circuitBreaker: { failureThreshold: 3, resetTimeout: "30s" },
        backends: [{ name: "failing", url: failing.url }, { name: "ok", url: ok.url }]
      })
      const statuses: Array<number> = []
      for (let i = 0; i < 20; i++) statuses.push((yield* send(proxy.url)).status)
      assert.strictEqual(failing.deliveries.length, 3)
      assert.strictEqual(statuses.filter((s) => s === 500).length, 3, "5xx answers are passed on, not retried")
      assert.strictEqual(proxy.registry.get("failing")?.circuit._tag, "Open")
      const status = json((yield* send(proxy.adminUrl, { path: "/status" })).text)
      assert.include(JSON.stringify(status), "3 consecutive failures, the last: server-error")
    }))

  it.live("all backends down: 503 with a JSON body and Retry-After", () =>
    Effect.gen(function*() {
      const ports = yield* Effect.forEach([1, 2], () => closedPort)
      const proxy = yield* startProxy({
        healthCheck: { interval: "2s", timeout: "50ms", unhealthyThreshold: 1 },
        backends: ports.map((port) => ({ url: `http://127.0.0.1:${port}` }))
      })
      yield* waitUntil(() => proxy.registry.pool().every((b) => !b.healthy))
      const reply = yield* send(proxy.url)
      assert.strictEqual(reply.status, 503)
      assert.strictEqual(reply.headers["retry-after"], "2", "the next health probe")
      assert.deepInclude(json(reply.text), { status: 503, error: "service unavailable" })
      const health = yield* send(proxy.adminUrl, { path: "/health" })
      assert.strictEqual(health.status, 503)
    }))

  it.live("while circuits are open, Retry-After says when the first one lets trials through", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const proxy = yield* startProxy({
        retry: { attempts: 1 },
        circuitBreaker: { failureThreshold: 1, resetTimeout: "20s" },
        backends: [{ url: `http://127.0.0.1:${port}` }]
      })
      assert.strictEqual((yield* send(proxy.url)).status, 502)
      const reply = yield* send(proxy.url)
      assert.strictEqual(reply.status, 503)
      assert.include(["19", "20"], reply.headers["retry-after"])
    }))
})
