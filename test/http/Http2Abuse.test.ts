/**
 * HTTP/2 abuse, over real loopback sockets with raw `node:http2` client sessions: a rapid-reset
 * flood (CVE-2023-44487) and a "made you reset" flood (CVE-2025-8671) each cost the attacker its
 * connection (GOAWAY) while another client keeps being served; the concurrent-stream limit and
 * the header-list limit hold; a client that stops reading is cut off after `timeouts.idle` and
 * what it holds up stays bounded. (Our own reset-flood rule is `domain/exchange/ResetFlood.ts`;
 * nghttp2's limits act beside it.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { ServerResponse } from "node:http"
import { constants } from "node:http2"
import type { ClientHttp2Session } from "node:http2"
import { startBackend } from "../support/Backends.ts"
import { h2Request, madeYouResetFlood, openSession } from "../support/Http2Client.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

/** Resolves with the GOAWAY error code the session receives, or "closed" if it closes without one. */
const goawayOf = (session: ClientHttp2Session) =>
  Effect.callback<number | "closed">((resume) => {
    session.once("goaway", (code: number) => resume(Effect.succeed(code)))
    session.once("close", () => resume(Effect.succeed("closed")))
  })

/** A victim's requests during a flood: each one's latency in ms (fails if any fails). */
const victimLatencies = (session: ClientHttp2Session, count: number) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.gen(function*() {
      const started = performance.now()
      const reply = yield* h2Request(session, { path: "/victim" })
      assert.strictEqual(reply.status, 200)
      yield* Effect.sleep("5 millis")
      return performance.now() - started
    }))

describe("HTTP/2 abuse", () => {
  it.live("a rapid-reset flood (HEADERS then RST_STREAM, thousands a second) ends in GOAWAY for that connection only", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b")
      const proxy = yield* startProxy({ server: { h2c: true }, backends: [{ url: backend.url }] })
      const victim = yield* openSession(proxy.url)
      const attacker = yield* openSession(proxy.url)
      const ended = yield* Effect.forkChild(goawayOf(attacker))
      const flood = setInterval(() => {
        for (let i = 0; i < 200 && !attacker.closed && !attacker.destroyed; i++) {
          const stream = attacker.request({ ":path": "/flood" })
          stream.on("error", () => undefined)
          stream.close(constants.NGHTTP2_CANCEL)
        }
      }, 5)
      const latencies = yield* victimLatencies(victim, 40).pipe(
        Effect.ensuring(Effect.sync(() => clearInterval(flood)))
      )
      const code = yield* Fiber.join(ended)
      assert.strictEqual(code, constants.NGHTTP2_ENHANCE_YOUR_CALM)
      assert.isBelow(Math.max(...latencies), 1_000, "the victim keeps its latency")
      const after = yield* h2Request(victim, { path: "/after" })
      assert.strictEqual(after.status, 200)
    }))

  it.live("a 'made you reset' flood (streams the server must reset itself) ends in GOAWAY too", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b")
      const proxy = yield* startProxy({ server: { h2c: true }, backends: [{ url: backend.url }] })
      const victim = yield* openSession(proxy.url)
      const flood = yield* Effect.forkChild(madeYouResetFlood(proxy.port, `127.0.0.1:${proxy.port}`))
      const latencies = yield* victimLatencies(victim, 40)
      const { goaway, streams } = yield* Fiber.join(flood)
      // nghttp2 (1.66 and later) takes a frame that would make it reset a stream it has ended as
      // a connection error: the attacker is told GOAWAY at its first such stream.
      assert.isDefined(goaway)
      assert.notStrictEqual(goaway, constants.NGHTTP2_NO_ERROR)
      assert.isBelow(streams, 2_000, "cut off early")
      assert.isBelow(backend.deliveries.filter((delivery) => delivery.url === "/flood").length, 10)
      assert.isBelow(Math.max(...latencies), 1_000)
    }))

  it.live("server.http2MaxStreams caps the streams in flight on one connection", () =>
    Effect.gen(function*() {
      const held: Array<ServerResponse> = []
      let concurrent = 0
      let most = 0
      const backend = yield* startBackend("b", (request, response) => {
        request.resume()
        concurrent++
        most = Math.max(most, concurrent)
        response.on("close", () => concurrent--)
        held.push(response)
      })
      const proxy = yield* startProxy({ server: { h2c: true, http2MaxStreams: 3 }, backends: [{ url: backend.url }] })
      const session = yield* openSession(proxy.url)
      yield* waitUntil(() => session.remoteSettings.maxConcurrentStreams === 3)
      const all = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 6 }), () => h2Request(session, { path: "/held" }).pipe(Effect.result), {
          concurrency: "unbounded"
        })
      )
      yield* waitUntil(() => held.length >= 3)
      yield* Effect.sleep("100 millis")
      assert.strictEqual(most, 3)
      while (held.length < 6 || held.some((response) => !response.writableEnded)) {
        for (const response of held) if (!response.writableEnded) response.end("done")
        yield* Effect.sleep("20 millis")
      }
      const results = yield* Fiber.join(all)
      assert.isAtMost(most, 3)
      assert.strictEqual(results.filter((result) => result._tag === "Success").length, 6)
    }))

  it.live("a header list over server.maxHeaderSize never reaches a backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("b")
      const proxy = yield* startProxy({
        server: { h2c: true, maxHeaderSize: "4KiB" },
        backends: [{ url: backend.url }]
      })
      const session = yield* openSession(proxy.url)
      const big = yield* h2Request(session, { path: "/big", headers: { "x-big": "a".repeat(8_000) } }).pipe(
        Effect.map((reply) => reply.status),
        Effect.catch(() => Effect.succeed("reset"))
      )
      assert.notStrictEqual(big, 200)
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("a client that stops reading (no WINDOW_UPDATE) is cut off after timeouts.idle, and the backend is held back meanwhile", () =>
    Effect.gen(function*() {
      let written = 0
      let backendClosed = false
      const chunk = Buffer.alloc(64 * 1024, 1)
      const backend = yield* startBackend("b", (request, response) => {
        request.resume()
        response.on("close", () => (backendClosed = true))
        const pump = () => {
          while (written < 256 * 1024 * 1024 && !response.destroyed) {
            written += chunk.length
            if (!response.write(chunk)) return void response.once("drain", pump)
          }
          response.end()
        }
        pump()
      })
      const proxy = yield* startProxy({
        server: { h2c: true },
        timeouts: { idle: "1s" },
        backends: [{ url: backend.url }]
      })
      const session = yield* openSession(proxy.url)
      const stream = session.request({ ":path": "/huge" })
      stream.on("error", () => undefined)
      // Reads nothing: the stream's window fills and flow control stops the proxy's writes.
      stream.pause()
      const started = performance.now()
      yield* waitUntil(() => backendClosed)
      const elapsed = performance.now() - started
      assert.isAtLeast(elapsed, 900)
      assert.isBelow(written, 32 * 1024 * 1024, "backpressure held the backend back")
    }))
})
