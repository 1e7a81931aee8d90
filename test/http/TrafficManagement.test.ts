/**
 * Advanced traffic management through the real proxy: outlier ejections that grow and a cap on
 * how many may be out at once, a retry budget holding back a retry storm, and a backend's own
 * `Retry-After` honoured. Time-driven parts run on the TestClock: sockets are real, the clock is not.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { closedPort, startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

/** The value of a Prometheus series without labels. */
const counter = (metrics: string, name: string): number => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.split(" ")[1])
}

describe("traffic management", () => {
  it.effect("a backend that keeps failing is ejected for longer each time; no more than the cap are out at once", () =>
    Effect.gen(function*() {
      const [dead1, dead2] = [yield* closedPort, yield* closedPort]
      const good = yield* Effect.forEach(["good1", "good2"], (name) => startBackend(name))
      const proxy = yield* startProxy({
        retry: { attempts: 1 },
        circuitBreaker: { failureThreshold: 1 },
        outlierDetection: { baseEjectionTime: "10s", maxEjectionTime: "60s", maxEjectionPercent: 25 },
        backends: [
          { name: "dead1", url: `http://127.0.0.1:${dead1}` },
          { name: "dead2", url: `http://127.0.0.1:${dead2}` },
          ...good.map((b) => ({ name: b.name, url: b.url }))
        ]
      })
      const get = () => send(proxy.url, { path: "/" }).pipe(Effect.map((r) => r.status))
      // Round robin: dead1 fails and is ejected; dead2 fails too, but one of four (25 %) is out already.
      assert.deepStrictEqual([yield* get(), yield* get(), yield* get(), yield* get()], [502, 502, 200, 200])
      const dead1State = proxy.registry.get("dead1")
      assert.deepInclude(dead1State?.circuit, { _tag: "Open", until: 10_000 })
      assert.strictEqual(proxy.registry.get("dead2")?.circuit._tag, "Closed")
      const metrics = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.strictEqual(counter(metrics, "lb_ejections_declined_total"), 1)

      // Each trial that fails ejects dead1 again, for 10 s more than the last time.
      const periods: Array<number> = []
      let now = 0
      for (let round = 0; round < 3; round++) {
        const circuit = proxy.registry.get("dead1")?.circuit
        if (circuit?._tag !== "Open") return assert.fail("dead1 should be out")
        yield* TestClock.adjust(circuit.until - now)
        now = circuit.until
        assert.strictEqual(proxy.registry.get("dead1")?.circuit._tag, "HalfOpen")
        while (proxy.registry.get("dead1")?.circuit._tag === "HalfOpen") yield* get()
        const reopened = proxy.registry.get("dead1")?.circuit
        periods.push(reopened?._tag === "Open" ? reopened.until - now : 0)
      }
      assert.deepStrictEqual(periods, [20_000, 30_000, 40_000])
      const status = JSON.parse((yield* send(proxy.adminUrl, { path: "/status" })).text)
      const reported = status.backends.list.find((b: { name: string }) => b.name === "dead1")
      assert.deepInclude(reported, { ejections: 4 })
      assert.strictEqual(reported.circuit.state, "open")
    }))

  it.live("a retry budget lets retries add at most its share of the traffic, and counts the rest", () =>
    Effect.gen(function*() {
      const dead = yield* closedPort
      const good = yield* startBackend("good")
      const proxy = yield* startProxy({
        retry: { attempts: 3, baseDelay: "1ms", maxDelay: "2ms", budget: { percent: 20, minRetriesPerSecond: 0 } },
        circuitBreaker: { failureThreshold: 1000 },
        backends: [{ name: "dead", url: `http://127.0.0.1:${dead}` }, { name: "good", url: good.url }]
      })
      const statuses: Array<number> = []
      for (let i = 0; i < 60; i++) statuses.push((yield* send(proxy.url, { path: `/${i}` })).status)
      const failedOnDead = proxy.registry.get("dead")?.failures ?? 0
      const retried = proxy.registry.get("good")?.retries ?? 0
      const refused = statuses.filter((s) => s === 502).length
      assert.isAtLeast(failedOnDead, 25, "round robin sends about half to the dead backend")
      assert.isAtMost(retried, 60 * 0.2, "retries stay within 20 % of the requests")
      assert.isAtLeast(retried, 5)
      assert.strictEqual(retried + refused, failedOnDead, "every failure was either retried or answered 502")
      const metrics = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.strictEqual(counter(metrics, "lb_retry_budget_exhausted_total"), refused)
    }))

  it.effect("a 429 without Retry-After is relayed and never opens the circuit, but counts as failurePenalty in the peak estimate", () =>
    Effect.gen(function*() {
      const throttling = yield* startBackend("throttling", (request, response) => {
        request.resume()
        response.writeHead(429, { "content-type": "text/plain" })
        response.end("slow down")
      })
      const working = yield* startBackend("working")
      const proxy = yield* startProxy({
        circuitBreaker: { failureThreshold: 2 },
        ewma: { failurePenalty: "1s" },
        backends: [{ name: "throttling", url: throttling.url }, { name: "working", url: working.url }]
      })
      const statuses: Array<number> = []
      for (let i = 0; i < 10; i++) statuses.push((yield* send(proxy.url, { path: "/" })).status)
      assert.deepStrictEqual(statuses, [429, 200, 429, 200, 429, 200, 429, 200, 429, 200])
      const state = proxy.registry.get("throttling")
      assert.deepInclude(state, { failures: 0, requests: 5 })
      assert.strictEqual(state?.circuit._tag, "Closed", "five 429s in a row, and a threshold of 2")
      // The TestClock stands still, so the estimate has not decayed: exactly the penalty.
      assert.strictEqual(state?.peakLatency?.value, 1_000)
      assert.isUndefined(state?.latency, "a 429's speed is not the backend's")
    }))

  it.effect("a 503 with Retry-After keeps the backend out that long (at most retry.maxDelay); the client gets the 503", () =>
    Effect.gen(function*() {
      let busy = true
      const overloaded = yield* startBackend("overloaded", (request, response) => {
        request.resume()
        if (!busy) return response.end("ok")
        response.writeHead(503, { "retry-after": "3" })
        response.end("busy")
      })
      const spare = yield* startBackend("spare")
      const proxy = yield* startProxy({
        retry: { maxDelay: "2s", honorRetryAfter: true },
        backends: [{ name: "overloaded", url: overloaded.url }, { name: "spare", url: spare.url }]
      })
      const first = yield* send(proxy.url, { path: "/" })
      assert.strictEqual(first.status, 503)
      assert.strictEqual(first.headers["retry-after"], "3")
      assert.deepInclude(proxy.registry.get("overloaded")?.circuit, {
        _tag: "Open",
        until: 2_000,
        reason: "the backend asked to retry after 2000 ms"
      })
      for (let i = 0; i < 4; i++) assert.strictEqual((yield* send(proxy.url, { path: "/" })).status, 200)
      assert.strictEqual(overloaded.deliveries.length, 1, "nothing more went to it while it asked to be left alone")
      busy = false
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(proxy.registry.get("overloaded")?.circuit._tag, "HalfOpen")
      for (let i = 0; i < 4; i++) yield* send(proxy.url, { path: "/" })
      assert.strictEqual(proxy.registry.get("overloaded")?.circuit._tag, "Closed")
      assert.isAtLeast(overloaded.deliveries.length, 2)
    }))
})
