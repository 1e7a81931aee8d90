/**
 * The observability routes over real sockets: exact Prometheus counters, gauges read from live
 * state, the JSON snapshot, and the live event stream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import { closedPort, startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

/** The value of one Prometheus sample line, e.g. `lb_requests_total{...} 7`. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe("metrics", () => {
  it.live("counts every request exactly, by backend, method and status", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", (request, response) => {
        request.resume()
        response.writeHead(request.url === "/missing" ? 404 : 200)
        response.end("ok")
      })
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      for (let i = 0; i < 7; i++) yield* send(proxy.url)
      for (let i = 0; i < 3; i++) yield* send(proxy.url, { method: "POST", body: "x" })
      yield* send(proxy.url, { path: "/missing" })
      yield* send(proxy.url, { method: "PROPFIND" })
      const { text } = yield* send(proxy.adminUrl, { path: "/metrics" })
      assert.strictEqual(sample(text, `lb_requests_total{backend="a",method="GET",status="200"}`), 7)
      assert.strictEqual(sample(text, `lb_requests_total{backend="a",method="POST",status="200"}`), 3)
      assert.strictEqual(sample(text, `lb_requests_total{backend="a",method="GET",status="404"}`), 1)
      assert.strictEqual(sample(text, `lb_requests_total{backend="a",method="OTHER",status="200"}`), 1)
      assert.strictEqual(sample(text, `lb_request_duration_seconds_count{backend="a"}`), 12)
      assert.strictEqual(sample(text, `lb_request_duration_seconds_bucket{backend="a",le="+Inf"}`), 12)
      assert.include(text, "# TYPE lb_requests_total counter")
      assert.include(text, "# TYPE lb_request_duration_seconds histogram")
    }))

  it.live("counts what the proxy answered itself under backend=\"none\"", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ server: { maxBodySize: "1KiB" }, backends: [{ name: "a", url: a.url }] })
      yield* send(proxy.url, { method: "POST", body: Buffer.alloc(2048) })
      const { text } = yield* send(proxy.adminUrl, { path: "/metrics" })
      assert.strictEqual(sample(text, `lb_requests_total{backend="none",method="POST",status="413"}`), 1)
    }))

  it.live("lb_backend_up carries each backend's pool, so a pool with none up can be alerted on", () =>
    Effect.gen(function*() {
      const up = yield* startBackend("up")
      const port = yield* closedPort
      const proxy = yield* startProxy({
        backends: [{ name: "main", url: up.url }],
        pools: {
          api: {
            backends: [{ name: "api-gone", url: `http://127.0.0.1:${port}` }],
            healthCheck: { path: "/", interval: "100ms", timeout: "100ms", unhealthyThreshold: 1 }
          }
        }
      })
      yield* waitUntil(() => proxy.registry.get("api-gone")?.healthy === false)
      const text = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.strictEqual(sample(text, `lb_backend_up{backend="main",pool="default"}`), 1)
      assert.strictEqual(sample(text, `lb_backend_up{backend="api-gone",pool="api"}`), 0)
    }))

  it.live("reads backend gauges from live state: up, active connections, circuit, retries, latency", () =>
    Effect.gen(function*() {
      const held: Array<() => void> = []
      const slow = yield* startBackend("slow", (request, response) => {
        request.resume()
        held.push(() => response.end("late"))
      })
      const port = yield* closedPort
      const proxy = yield* startProxy({
        strategy: "round-robin",
        circuitBreaker: { failureThreshold: 1, resetTimeout: "1m" },
        retry: { attempts: 2, baseDelay: "1ms", maxDelay: "2ms" },
        backends: [{ name: "gone", url: `http://127.0.0.1:${port}` }, { name: "slow", url: slow.url }]
      })
      const pending = yield* Effect.forkChild(send(proxy.url))
      yield* waitUntil(() => slow.arrivals() === 1)
      const during = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.strictEqual(sample(during, `lb_active_connections{backend="slow"}`), 1)
      assert.strictEqual(sample(during, `lb_backend_up{backend="gone",pool="default"}`), 0)
      assert.strictEqual(sample(during, `lb_backend_up{backend="slow",pool="default"}`), 1)
      assert.strictEqual(sample(during, `lb_circuit_breaker_state{backend="gone"}`), 1)
      assert.strictEqual(sample(during, `lb_circuit_breaker_state{backend="slow"}`), 0)
      assert.strictEqual(sample(during, `lb_retries_total{backend="slow"}`), 1)
      held.forEach((release) => release())
      yield* Fiber.join(pending)
      const after = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.strictEqual(sample(after, `lb_active_connections{backend="slow"}`), 0)
      assert.isAbove(sample(after, `lb_backend_ewma_latency_seconds{backend="slow"}`) ?? 0, 0)
    }))

  it.live("serves the JSON snapshot with its history for Accept: application/json and ?format=json", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({
        metrics: { historyInterval: "50ms", historySize: 4 },
        backends: [{ name: "a", url: a.url }]
      })
      yield* send(proxy.url)
      yield* Effect.sleep("300 millis")
      const byAccept = JSON.parse(
        (yield* send(proxy.adminUrl, { path: "/metrics", headers: { accept: "application/json" } })).text
      )
      const byQuery = JSON.parse((yield* send(proxy.adminUrl, { path: "/metrics?format=json" })).text)
      for (const document of [byAccept, byQuery]) {
        assert.strictEqual(document.backends.list[0].name, "a")
        assert.strictEqual(document.backends.list[0].requests, 1)
        assert.strictEqual(document.history.intervalSeconds, 0.05)
        assert.strictEqual(document.history.samples.length, 4, "the buffer keeps historySize samples")
        assert.strictEqual(document.history.samples[3].backends.a.requests, 1)
      }
    }))
})

describe("/events", () => {
  /** Reads server-sent events from `url` until `count` data lines arrived. */
  const readEvents = (url: string, count: number) =>
    Effect.callback<Array<Record<string, unknown>>, Error>((resume) => {
      const events: Array<Record<string, unknown>> = []
      let buffer = ""
      const request = httpRequest(url, (response) => {
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          buffer += chunk
          let end = buffer.indexOf("\n\n")
          while (end !== -1) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            if (block.startsWith("data: ")) events.push(JSON.parse(block.slice(6)))
            end = buffer.indexOf("\n\n")
          }
          if (events.length >= count) {
            request.destroy()
            resume(Effect.succeed(events))
          }
        })
      })
      request.on("error", (error) => resume(Effect.fail(error)))
      request.end()
      return Effect.sync(() => request.destroy())
    })

  it.live("streams every backend event as JSON, live, and a stalled client holds nobody up", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      // A client that connects and never reads a byte.
      const stalled = connect(proxy.adminPort, "127.0.0.1")
      stalled.write("GET /events HTTP/1.1\r\nHost: admin\r\n\r\n")
      stalled.pause()
      yield* Effect.addFinalizer(() => Effect.sync(() => stalled.destroy()))
      const listener = yield* Effect.forkChild(readEvents(`${proxy.adminUrl}/events`, 2))
      yield* Effect.sleep("100 millis")
      for (let i = 0; i < 20_000; i++) {
        proxy.registry.emit({ _tag: "ProbeSucceeded", at: i, backend: "a", latencyMs: 1 })
      }
      const received = (yield* Fiber.join(listener)).slice(0, 2)
      assert.deepStrictEqual(received.map((e) => e["_tag"]), ["ProbeSucceeded", "ProbeSucceeded"])
      assert.deepInclude(received[0], { backend: "a", at: 0 })
      assert.strictEqual((yield* send(proxy.url)).status, 200, "the proxy still serves")
    }))
})
