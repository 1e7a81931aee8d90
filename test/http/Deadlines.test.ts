/**
 * `timeouts.request` as a deadline that holds: a backend that takes the request and never
 * answers gets each request a 504 within 50 ms of the moment the deadline falls, counted per
 * request, however many are stuck at once. Real sockets and real timers: what is tested is the
 * timers' precision, so the wall clock is the measure (kept to a few hundred ms).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { Scope } from "effect"
import { createServer } from "node:net"
import type { Socket } from "node:net"
import { performance } from "node:perf_hooks"
import { Readable } from "node:stream"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

interface FrozenBackend {
  readonly url: string
  readonly connections: () => number
  /** When the head of the request for `path` arrived. */
  readonly arrivedAt: (path: string) => number | undefined
  /**
   * How late a plain Node timer of `referenceMs`, set when that request arrived, fired: how late
   * the process itself ran meanwhile (GC, a busy machine). A deadline can be no more punctual.
   */
  readonly lateBy: (path: string) => number
}

/** A backend that accepts connections and reads what arrives, but never sends a byte. */
const frozenBackend = (referenceMs: number): Effect.Effect<FrozenBackend, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<FrozenBackend & { readonly close: () => void }>((resume) => {
      const sockets = new Set<Socket>()
      const arrivals = new Map<string, number>()
      const lateness = new Map<string, number>()
      let connections = 0
      const server = createServer((socket) => {
        connections++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => undefined)
        socket.on("data", (chunk: Buffer) => {
          const path = /^[A-Z]+ (\S+) HTTP/.exec(chunk.toString("latin1"))?.[1]
          if (path === undefined) return
          const at = performance.now()
          arrivals.set(path, at)
          setTimeout(() => lateness.set(path, Math.max(0, performance.now() - at - referenceMs)), referenceMs)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}`,
          connections: () => connections,
          arrivedAt: (path) => arrivals.get(path),
          lateBy: (path) => lateness.get(path) ?? 0,
          close: () => {
            server.close()
            for (const socket of sockets) socket.destroy()
          }
        }))
      })
    }),
    (backend) => Effect.sync(backend.close)
  )

/** The request's status, when it was sent and when its answer was in. */
const timed = (url: string, path: string) =>
  Effect.gen(function*() {
    const sentAt = performance.now()
    const reply = yield* send(url, { path })
    return { path, status: reply.status, sentAt, answeredAt: performance.now() }
  })

describe("response deadlines", () => {
  it.live("forty requests stuck on a frozen backend each get a 504 within 50 ms of timeouts.request, none early", () =>
    Effect.gen(function*() {
      const backend = yield* frozenBackend(300)
      const proxy = yield* startProxy({
        timeouts: { request: "300ms" },
        // Eighty timeouts in a row: the breaker would shut the backend out after the first round.
        circuitBreaker: { failureThreshold: 1000 },
        // What is measured is the deadline, not the backoff before finding no other backend to try.
        retry: { attempts: 1 },
        backends: [{ url: backend.url }]
      })
      // Sent in four waves 30 ms apart, so a timer shared by a batch would show as a wave answered late.
      const round = (name: string) =>
        Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) =>
            Effect.sleep(`${30 * Math.floor(i / 10)} millis`).pipe(Effect.andThen(timed(proxy.url, `/${name}/${i}`))),
          { concurrency: "unbounded" }
        )
      // The first round warms the process up (code paths compiled, the first upstream connections
      // made), which on its own can take tens of ms on a busy machine; the second is measured.
      const warmUp = yield* round("warm-up")
      assert.deepStrictEqual(warmUp.map((r) => r.status), Array.from({ length: 40 }, () => 504))
      const replies = yield* round("stuck")
      assert.deepStrictEqual(replies.map((r) => r.status), Array.from({ length: 40 }, () => 504))
      // Never early, counted from the client; and within 50 ms of the deadline, counted from the
      // moment the backend had the request, less any lateness of the process's own timers (on a
      // busy machine the way to the backend alone can take tens of ms). undici's timers, which
      // tick every ~500 ms, answered these at 500-1000 ms, in batches.
      const early = replies.filter((r) => r.answeredAt - r.sentAt < 300)
      assert.deepStrictEqual(early, [], "no 504 before timeouts.request")
      const late = replies.flatMap((r) => {
        const waitedMs = r.answeredAt - (backend.arrivedAt(r.path) ?? r.sentAt) - backend.lateBy(r.path)
        return waitedMs < 350 ? [] : [`${r.path}: ${waitedMs.toFixed(1)} ms`]
      })
      assert.deepStrictEqual(late, [], "every 504 within 50 ms of its deadline")
      assert.strictEqual(backend.connections(), 80)
    }))

  it.live("a timed-out GET is retried on another backend, and the silent one is charged a timeout", () =>
    Effect.gen(function*() {
      const silent = yield* frozenBackend(200)
      const healthy = yield* startBackend("healthy")
      const proxy = yield* startProxy({
        timeouts: { request: "200ms" },
        strategy: "round-robin",
        retry: { attempts: 2, baseDelay: "1ms", maxDelay: "1ms" },
        backends: [{ name: "silent", url: silent.url }, { name: "healthy", url: healthy.url }]
      })
      const finished: Array<BackendEvent> = []
      yield* Stream.fromSubscription(yield* proxy.registry.subscribe({ requests: true })).pipe(
        Stream.runForEach((event) => Effect.sync(() => finished.push(event))),
        Effect.forkScoped
      )
      // Round robin: of two requests, at least one starts on the silent backend.
      const replies = [yield* send(proxy.url, { path: "/a" }), yield* send(proxy.url, { path: "/b" })]
      assert.deepStrictEqual(replies.map((r) => r.status), [200, 200])
      const count = (tag: BackendEvent["_tag"]) => finished.filter((e) => e._tag === tag).length
      yield* waitUntil(() => count("RequestFinished") >= 3 && count("RequestFinished") === count("RequestStarted"))
      const onSilent = finished.flatMap((e) =>
        e._tag === "RequestFinished" && e.backend === "silent" ? [e.outcome] : []
      )
      assert.isAtLeast(onSilent.length, 1)
      assert.deepStrictEqual(onSilent, onSilent.map(() => "timeout"))
      assert.strictEqual(proxy.registry.get("silent")?.failures, onSilent.length)
      assert.strictEqual(proxy.registry.get("healthy")?.retries, onSilent.length)
      assert.strictEqual(healthy.deliveries.length, 2)
    }))

  it.live("the deadline starts once the request is sent in full: a slow upload is not cut off, its answer is awaited for timeouts.request", () =>
    Effect.gen(function*() {
      let bodyEndedAt = 0
      let referenceAt = 0
      const backend = yield* startBackend("reader", (request, response) => {
        request.resume()
        request.on("end", () => {
          bodyEndedAt = performance.now()
          setTimeout(() => (referenceAt = performance.now()), 300)
          // `/answer` answers once it has the body; `/freeze` never does.
          if (request.url === "/answer") response.end("got it")
        })
      })
      const proxy = yield* startProxy({ timeouts: { request: "300ms" }, backends: [{ url: backend.url }] })
      /** A body of five chunks, 100 ms apart: 400 ms of upload, longer than the deadline. */
      const slowBody = () =>
        Readable.from((async function*() {
          for (let i = 0; i < 5; i++) {
            if (i > 0) yield await new Promise<string>((resolve) => setTimeout(() => resolve("chunk"), 100))
            else yield "chunk"
          }
        })())
      const answered = yield* send(proxy.url, { method: "PUT", path: "/answer", body: slowBody() })
      assert.strictEqual(answered.status, 200)
      assert.strictEqual(answered.text, "got it")
      const frozen = yield* send(proxy.url, { method: "PUT", path: "/freeze", body: slowBody() })
      const waitedMs = performance.now() - bodyEndedAt
      assert.strictEqual(frozen.status, 504)
      // The backend sees the body end a moment after the proxy has sent it, hence 295.
      assert.isAtLeast(waitedMs, 295, "the backend had the whole deadline after the body")
      assert.isBelow(waitedMs - Math.max(0, referenceAt - bodyEndedAt - 300), 350)
      assert.deepStrictEqual(backend.deliveries.map((d) => [d.url, d.bodyBytes]), [["/answer", 25], ["/freeze", 25]])
    }))
})
