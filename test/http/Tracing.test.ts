/**
 * Traces of proxied requests: a server span per request, a client span per upstream attempt,
 * and W3C `traceparent` propagation to the backend, collected by an in-memory exporter.
 */
import { assert, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { TracingWith } from "../../src/layers/TracingLive.ts"
import { closedPort, startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const spanKind = { server: SpanKind.SERVER, client: SpanKind.CLIENT }

const tracedProxy = (config: Parameters<typeof startProxy>[0]) =>
  Effect.gen(function*() {
    const exporter = new InMemorySpanExporter()
    const proxy = yield* startProxy(config, {
      tracing: TracingWith(new SimpleSpanProcessor(exporter), "switchyard-test")
    })
    return { proxy, spans: () => exporter.getFinishedSpans() }
  })

const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe("tracing", () => {
  it.live("a server span per request, a client span per attempt, and the trace continued to the backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const { proxy, spans } = yield* tracedProxy({ backends: [{ name: "api", url: backend.url }] })
      const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
      const reply = yield* send(proxy.url, { path: "/orders?id=3", headers: { traceparent: incoming } })
      assert.strictEqual(reply.status, 200)
      yield* waitUntil(() => spans().length === 2)
      const server = spans().find((s) => s.kind === spanKind.server)
      const client = spans().find((s) => s.kind === spanKind.client)
      if (server === undefined || client === undefined) return assert.fail("missing spans")
      assert.strictEqual(server.name, "GET")
      assert.strictEqual(server.spanContext().traceId, "4bf92f3577b34da6a3ce929d0e0e4736")
      assert.strictEqual(parentId(server), "00f067aa0ba902b7")
      assert.deepInclude(server.attributes, {
        "http.request.method": "GET",
        "url.path": "/orders",
        "http.response.status_code": 200,
        "switchyard.backend": "api",
        "switchyard.retries": 0
      })
      assert.strictEqual(client.name, "upstream")
      assert.strictEqual(parentId(client), server.spanContext().spanId)
      assert.deepInclude(client.attributes, {
        "switchyard.backend": "api",
        "switchyard.attempt": 1,
        "switchyard.outcome": "success"
      })
      const sent = backend.deliveries[0]?.headers["traceparent"]
      assert.strictEqual(sent, `00-4bf92f3577b34da6a3ce929d0e0e4736-${client.spanContext().spanId}-01`)
      assert.strictEqual(server.resource.attributes["service.name"], "switchyard-test")
    }))

  it.live("each retry is its own attempt span; the failed one is marked an error", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const backend = yield* startBackend("ok")
      const { proxy, spans } = yield* tracedProxy({
        retry: { attempts: 2, baseDelay: "1ms", maxDelay: "2ms" },
        backends: [{ name: "gone", url: `http://127.0.0.1:${port}` }, { name: "ok", url: backend.url }]
      })
      assert.strictEqual((yield* send(proxy.url)).status, 200)
      yield* waitUntil(() => spans().length === 3)
      const attempts = spans().filter((s) => s.kind === spanKind.client).sort((a, b) =>
        Number(a.attributes["switchyard.attempt"]) - Number(b.attributes["switchyard.attempt"])
      )
      assert.deepStrictEqual(
        attempts.map((s) => [s.attributes["switchyard.backend"], s.attributes["switchyard.outcome"], s.status.code]),
        [
          ["gone", "connect-failed", 2],
          ["ok", "success", 0]
        ]
      )
      const server = spans().find((s) => s.kind === spanKind.server)
      assert.strictEqual(server?.attributes["switchyard.retries"], 1)
      assert.isTrue(attempts.every((s) => parentId(s) === server?.spanContext().spanId))
    }))

  it.live("without a client traceparent a new trace starts, and without tracing none is sent", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const { proxy, spans } = yield* tracedProxy({ backends: [{ name: "api", url: backend.url }] })
      yield* send(proxy.url)
      yield* waitUntil(() => spans().length === 2)
      const serverSpan = spans().find((s) => s.kind === spanKind.server) ?? spans()[0]
      assert.isDefined(serverSpan)
      if (serverSpan !== undefined) assert.isUndefined(parentId(serverSpan))
      assert.match(String(backend.deliveries[0]?.headers["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)

      const plain = yield* startBackend("plain")
      const untraced = yield* startProxy({ backends: [{ url: plain.url }] })
      yield* send(untraced.url, { headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } })
      assert.strictEqual(
        plain.deliveries[0]?.headers["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "an untraced proxy passes the client's trace context on unchanged"
      )
    }))
})
