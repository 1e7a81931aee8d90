/**
 * The HTTP health probe (`healthCheck.path`) against real `node:http` backends on loopback, over
 * the proxy's own HTTP/1.1 client: the verdict and its reason are what an operator sees in the
 * backend's health, and what reaches the backend is what its logs show.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import { createServer as createNetServer } from "node:net"
import type { Socket } from "node:net"
import type { BackendSpec } from "../../src/domain/Backend.ts"
import type { ProbeSettings } from "../../src/domain/BackendPolicy.ts"
import { HealthProbeLive } from "../../src/layers/HealthProbeLive.ts"
import { HealthProbe } from "../../src/services/HealthProbe.ts"
import type { HealthProbeShape } from "../../src/services/HealthProbe.ts"
import { closedPort, startBackend } from "../support/Backends.ts"
import type { Handler } from "../support/Backends.ts"

const settings: ProbeSettings = { path: "/health", intervalMs: 1_000, timeoutMs: 1_000 }

const healthProbe: Effect.Effect<HealthProbeShape, never, Scope.Scope> = Layer.build(HealthProbeLive).pipe(
  Effect.map((context) => Context.get(context, HealthProbe))
)

const specOf = (url: string, extra: Partial<BackendSpec> = {}): BackendSpec => ({ name: "b", url, weight: 1, ...extra })

const answering = (status: number, body = ""): Handler => (request, response) => {
  request.resume()
  response.writeHead(status, { "content-length": Buffer.byteLength(body) })
  response.end(body)
}

/** A TCP server that accepts and resets every connection as soon as a request arrives. */
const resetting = Effect.acquireRelease(
  Effect.callback<{ readonly port: number; readonly close: () => void }>((resume) => {
    const sockets = new Set<Socket>()
    const server = createNetServer((socket) => {
      sockets.add(socket)
      socket.once("data", () => socket.resetAndDestroy())
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({
        port: typeof address === "object" && address !== null ? address.port : 0,
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
)

describe("HTTP health probe", () => {
  it.live("a 2xx or 3xx is healthy: GET on the origin (not the URL's prefix), its Host and user agent", () =>
    Effect.gen(function*() {
      const ok = yield* startBackend("ok", answering(200, "fine"))
      const moved = yield* startBackend("moved", answering(302))
      const probe = yield* healthProbe
      const healthy = yield* probe.probe(specOf(`${ok.url}/api/`), settings)
      assert.isTrue(healthy.healthy)
      assert.isTrue((yield* probe.probe(specOf(moved.url), settings)).healthy)
      const delivery = ok.deliveries[0]
      assert.strictEqual(delivery?.method, "GET")
      assert.strictEqual(delivery?.url, "/health")
      assert.strictEqual(delivery?.headers.host, `127.0.0.1:${ok.port}`)
      assert.match(String(delivery?.headers["user-agent"]), /^switchyard-health\//)
    }))

  it.live("a member found by DNS is probed as its name: Host is the name it was resolved from", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api", answering(204))
      const probe = yield* healthProbe
      const member = specOf(backend.url, { name: "api@127.0.0.1", resolvedFrom: "api.internal" })
      assert.isTrue((yield* probe.probe(member, settings)).healthy)
      assert.strictEqual(backend.deliveries[0]?.headers.host, `api.internal:${backend.port}`)
    }))

  it.live("another status is unhealthy, named; refused and reset connections say so", () =>
    Effect.gen(function*() {
      const failing = yield* startBackend("failing", answering(503, "down for maintenance"))
      const refused = yield* closedPort
      const reset = yield* resetting
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(specOf(failing.url), settings), { healthy: false, reason: "HTTP 503" })
      assert.deepStrictEqual(yield* probe.probe(specOf(`http://127.0.0.1:${refused}`), settings), {
        healthy: false,
        reason: "connection refused"
      })
      assert.deepStrictEqual(yield* probe.probe(specOf(`http://127.0.0.1:${reset.port}`), settings), {
        healthy: false,
        reason: "connection reset"
      })
    }))

  it.live("probes apart in time go out on one kept connection; a body that never ends is cut off, the status stands", () =>
    Effect.gen(function*() {
      const connections = { count: 0 }
      const ok = yield* startBackend("ok", answering(200))
      ok.server.on("connection", () => connections.count++)
      const endless = yield* startBackend("endless", (request, response) => {
        request.resume()
        response.writeHead(200)
        const chunk = Buffer.alloc(16 * 1024, 0x61)
        const more = () => {
          while (response.write(chunk)) if (response.destroyed) return
          response.once("drain", more)
        }
        more()
      })
      const probe = yield* healthProbe
      for (let i = 0; i < 3; i++) {
        assert.isTrue((yield* probe.probe(specOf(ok.url), settings)).healthy)
        // The connection is back in the pool once its response is over, a moment after the verdict.
        yield* Effect.sleep("20 millis")
      }
      assert.strictEqual(connections.count, 1)
      assert.isTrue((yield* probe.probe(specOf(endless.url), settings)).healthy)
    }))

  it.effect("no answer within the timeout is unhealthy, on the Clock", () =>
    Effect.gen(function*() {
      let called: () => void = () => undefined
      const arrived = new Promise<void>((resolve) => (called = resolve))
      const silent = yield* startBackend("silent", (request) => {
        request.resume()
        called()
      })
      const probe = yield* healthProbe
      const fiber = yield* probe.probe(specOf(silent.url), settings).pipe(Effect.forkChild)
      yield* Effect.promise(() => arrived)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { healthy: false, reason: "no answer within 1s" })
    }))
})
