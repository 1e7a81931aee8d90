/**
 * The upstream client against real HTTP/2 backends (`node:http2` servers on loopback): requests
 * go through `UpstreamLive`'s dispatch as the proxy sends them, and a recording handler hears
 * the callbacks in order. Covers h2c and h2, multiplexing on one session, the backend's stream
 * limit, bodies both ways with backpressure, trailers, header rules, and every way a stream or
 * session can fail, each with the outcome the proxy would give it.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import { constants } from "node:http2"
import type { ServerHttp2Stream } from "node:http2"
import { createServer as createHttpsServer } from "node:https"
import { createServer as createNetServer } from "node:net"
import type { Socket } from "node:net"
import { Readable } from "node:stream"
import { getCACertificates, setDefaultCACertificates } from "node:tls"
import type { TLSSocket } from "node:tls"
import type { BackendSpec } from "../../../src/domain/Backend.ts"
import {
  BodyTimeout,
  BodyTooLarge,
  classifyUpstreamError,
  ConnectTimeout,
  StreamRefused
} from "../../../src/http/Failures.ts"
import { NoHttp2 } from "../../../src/http/upstream/Http2Session.ts"
import { ProxyConfigLive } from "../../../src/layers/ProxyConfigLive.ts"
import { UpstreamLive } from "../../../src/layers/UpstreamLive.ts"
import { Upstream } from "../../../src/services/Upstream.ts"
import type { UpstreamControl, UpstreamRequest, UpstreamShape } from "../../../src/services/Upstream.ts"
import { closedPort } from "../../support/Backends.ts"
import { echoPath, startH2Backend, tlsFixture } from "../../support/Http2Backends.ts"
import type { H2Backend, H2Handler } from "../../support/Http2Backends.ts"
import { waitUntil } from "../../support/Wait.ts"

// The h2 backends present the fixture certificate: trusted here as a CA would be in production.
const defaultCAs = getCACertificates("default")
beforeAll(() => setDefaultCACertificates([...defaultCAs, tlsFixture.cert]))
afterAll(() => setDefaultCACertificates(defaultCAs))

const upstreamWith = (
  timeouts: Record<string, string> = {}
): Effect.Effect<UpstreamShape, unknown, Scope.Scope> =>
  Layer.build(
    UpstreamLive.pipe(
      Layer.provide(ProxyConfigLive.fromObject({ backends: [{ url: "http://127.0.0.1:9" }], timeouts }))
    )
  ).pipe(Effect.map((context) => Context.get(context, Upstream)))

const specOf = (url: string, protocol: "h2c" | "h2" = "h2c"): BackendSpec => ({ name: "b", url, weight: 1, protocol })

const get = (path = "/", extra: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  method: "GET",
  path,
  headers: ["Host", "app.example"],
  framing: "none",
  body: null,
  trailers: false,
  ...extra
})

/** What a handler heard of one request, callbacks in order. */
interface Heard {
  /** `start`, `sent`, `head <status>`, `data`, `end`, `error` in order (consecutive `data` once). */
  readonly events: Array<string>
  readonly headers: Array<string>
  readonly body: Buffer
  readonly trailers: ReadonlyArray<string>
  readonly error: Error | undefined
  /** The error came before `onRequestStart`: nothing reached the backend. */
  readonly beforeSend: boolean
}

interface Hooks {
  readonly onStart?: (control: UpstreamControl) => void
  readonly onData?: (control: UpstreamControl, chunk: Buffer) => void
}

/** Dispatches `request` and waits for its end or its error; the events go on being recorded after. */
const exchange = (
  upstream: UpstreamShape,
  backend: BackendSpec,
  request: UpstreamRequest,
  hooks: Hooks = {}
): Effect.Effect<Heard> =>
  Effect.callback<Heard>((resume) => {
    const events: Array<string> = []
    const chunks: Array<Buffer> = []
    let headers: Array<string> = []
    let started = false
    const done = (trailers: ReadonlyArray<string>, error: Error | undefined) =>
      resume(Effect.succeed({ events, headers, body: Buffer.concat(chunks), trailers, error, beforeSend: !started }))
    upstream.dispatch(backend, request, {
      onRequestStart: (control) => {
        started = true
        events.push("start")
        hooks.onStart?.(control)
      },
      onRequestSent: () => events.push("sent"),
      onResponseStart: (_control, status, raw) => {
        events.push(`head ${status}`)
        if (status >= 200) headers = raw
      },
      onResponseData: (control, chunk) => {
        if (events.at(-1) !== "data") events.push("data")
        chunks.push(chunk)
        hooks.onData?.(control, chunk)
      },
      onResponseEnd: (trailers) => {
        events.push("end")
        done(trailers, undefined)
      },
      onResponseError: (error) => {
        events.push("error")
        done([], error)
      }
    })
  })

/** Holds every stream until `count` have arrived, then answers each with its path: proof they were open at once. */
const answerWhenAll = (count: number): H2Handler => {
  const held: Array<() => void> = []
  return (stream, headers) => {
    held.push(() => {
      stream.respond({ ":status": 200 })
      stream.end(String(headers[":path"]))
    })
    if (held.length === count) { for (const answer of held) answer() }
  }
}

const headerValues = (flat: ReadonlyArray<string>, name: string): Array<string> =>
  flat.flatMap((value, i) => i % 2 === 1 && flat[i - 1] === name ? [value] : [])

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex")

describe("HTTP/2 backends", () => {
  it.live("h2c: the request goes out as an HTTP/2 header block, the response comes back in order", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend()
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(
        upstream,
        specOf(`${backend.url}/api`),
        get("/items?x=1", {
          headers: ["Host", "app.example", "X-Custom", "a", "Connection", "keep-alive", "Keep-Alive", "timeout=5"]
        })
      )
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "data", "end"])
      assert.strictEqual(heard.body.toString(), "/api/items?x=1")
      const raw = backend.arrivals[0]?.rawHeaders ?? []
      assert.deepStrictEqual(raw.slice(0, 8), [
        ":method",
        "GET",
        ":scheme",
        "http",
        ":path",
        "/api/items?x=1",
        ":authority",
        "app.example"
      ])
      assert.deepStrictEqual(raw.slice(8), ["x-custom", "a"], "connection-specific fields and host are not sent")
      assert.deepStrictEqual(headerValues(heard.headers, "content-type"), ["text/plain"])
      assert.isFalse(heard.headers.some((name, i) => i % 2 === 0 && name.startsWith(":")), "no pseudo-headers")
    }))

  it.live("h2: TLS with ALPN h2 only, the backend's name sent for verification", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend(echoPath, { tls: true })
      const alpn: Array<string | false | null> = []
      const names: Array<string | false | null> = []
      backend.server.on("secureConnection", (socket: TLSSocket) => {
        alpn.push(socket.alpnProtocol)
        names.push(socket.servername)
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url, "h2"), get("/secure"))
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "data", "end"])
      assert.strictEqual(heard.body.toString(), "/secure")
      assert.strictEqual(backend.arrivals[0]?.headers[":scheme"], "https")
      assert.deepStrictEqual(alpn, ["h2"])
      assert.deepStrictEqual(names, ["localhost"])
    }))

  it.live("h2: a new session resumes the last TLS session", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend(echoPath, { tls: true })
      const reused: Array<boolean> = []
      backend.server.on("secureConnection", (socket: TLSSocket) => reused.push(socket.isSessionReused()))
      const upstream = yield* upstreamWith({ idle: "200ms" })
      const spec = specOf(backend.url, "h2")
      yield* exchange(upstream, spec, get("/one"))
      yield* waitUntil(() => backend.openSessions() === 0)
      yield* exchange(upstream, spec, get("/two"))
      assert.deepStrictEqual(reused, [false, true])
    }))

  it.live("an h2 backend that offers only http/1.1 is a failed connect that says so", () =>
    Effect.gen(function*() {
      const server = createHttpsServer({ ...tlsFixture, ALPNProtocols: ["http/1.1"] }, (_request, response) => {
        response.end("http/1.1")
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(`https://localhost:${port}`, "h2"), get())
      assert.deepStrictEqual(heard.events, ["error"])
      assert.instanceOf(heard.error, NoHttp2)
      assert.include(heard.error?.message, "does not speak HTTP/2")
      assert.strictEqual(classifyUpstreamError(heard.error ?? new Error(), heard.beforeSend), "connect-failed")
    }))

  it.live("fifty concurrent requests share one session", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend(answerWhenAll(50))
      const upstream = yield* upstreamWith()
      const spec = specOf(backend.url)
      const all = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => exchange(upstream, spec, get(`/r${i}`)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(all.map((heard) => heard.body.toString()), Array.from({ length: 50 }, (_, i) => `/r${i}`))
      assert.strictEqual(backend.sessions(), 1)
    }))

  it.live("past the backend's SETTINGS_MAX_CONCURRENT_STREAMS another session is opened, none over the limit", () =>
    Effect.gen(function*() {
      const open = new Map<unknown, number>()
      let most = 0
      const backend = yield* startH2Backend((stream, headers) => {
        const count = (open.get(stream.session) ?? 0) + 1
        open.set(stream.session, count)
        most = Math.max(most, count)
        setTimeout(() => {
          open.set(stream.session, (open.get(stream.session) ?? 1) - 1)
          stream.respond({ ":status": 200 })
          stream.end(String(headers[":path"]))
        }, 100)
      }, { settings: { maxConcurrentStreams: 2 } })
      const upstream = yield* upstreamWith()
      const spec = specOf(backend.url)
      const all = yield* Effect.forEach(
        Array.from({ length: 5 }, (_, i) => i),
        (i) => exchange(upstream, spec, get(`/r${i}`)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(all.map((heard) => heard.events.at(-1)), ["end", "end", "end", "end", "end"])
      assert.strictEqual(most, 2, "no session carried more streams than the backend allows")
      assert.strictEqual(backend.sessions(), 3, "2 + 2 + 1 streams")
    }))

  it.live("a request body streams with backpressure: reading it waits for the backend", () =>
    Effect.gen(function*() {
      const size = 16 * 1024 * 1024
      const piece = Buffer.alloc(64 * 1024, 7)
      let pulled = 0
      const body = new Readable({
        read() {
          if (pulled >= size) return void this.push(null)
          pulled += piece.length
          this.push(piece)
        }
      })
      let reading = false
      const received = createHash("sha256")
      let receivedBytes = 0
      const backend = yield* startH2Backend((stream) => {
        stream.pause()
        setTimeout(() => {
          reading = true
          stream.on("data", (chunk: Buffer) => {
            receivedBytes += chunk.length
            received.update(chunk)
          })
          stream.resume()
        }, 400)
        stream.on("end", () => {
          stream.respond({ ":status": 201 })
          stream.end()
        })
      })
      let pulledBeforeReading = 0
      const upstream = yield* upstreamWith()
      const fiber = yield* exchange(
        upstream,
        specOf(backend.url),
        get("/upload", { method: "POST", headers: ["host", "h"], framing: "chunked", body })
      ).pipe(Effect.forkChild)
      yield* Effect.sleep("300 millis")
      pulledBeforeReading = pulled
      assert.isFalse(reading)
      const heard = yield* Fiber.join(fiber)
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 201", "end"])
      assert.isBelow(pulledBeforeReading, 2 * 1024 * 1024, "the body was read only as far as the backend's window")
      assert.strictEqual(receivedBytes, size)
      assert.strictEqual(
        received.digest("hex"),
        sha256(Buffer.concat(Array.from({ length: size / piece.length }, () => piece)))
      )
    }))

  it.live("a request body that fails (BodyTooLarge) aborts the request with that error", () =>
    Effect.gen(function*() {
      const closes: Array<number> = []
      const backend = yield* startH2Backend((stream) => {
        stream.resume()
        stream.once("close", () => closes.push(stream.rstCode))
      })
      const body = new Readable({ read() {} })
      const upstream = yield* upstreamWith()
      const fiber = yield* exchange(
        upstream,
        specOf(backend.url),
        get("/upload", { method: "POST", framing: "chunked", body })
      ).pipe(Effect.forkChild)
      body.push("some of it")
      yield* waitUntil(() => backend.arrivals.length === 1)
      const tooLarge = new BodyTooLarge("the request body is larger than 10 bytes")
      body.destroy(tooLarge)
      const heard = yield* Fiber.join(fiber)
      assert.deepStrictEqual(heard.events, ["start", "error"])
      assert.strictEqual(heard.error, tooLarge)
      yield* waitUntil(() => closes.length === 1)
      assert.deepStrictEqual(closes, [constants.NGHTTP2_CANCEL])
    }))

  it.live("a large response to a slow reader stays bounded: pausing holds the backend back", () =>
    Effect.gen(function*() {
      const size = 16 * 1024 * 1024
      const piece = Buffer.alloc(64 * 1024, 1)
      let flushed = 0
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200 })
        let written = 0
        const pump = () => {
          while (written < size) {
            written += piece.length
            if (!stream.write(piece, () => (flushed += piece.length))) return void stream.once("drain", pump)
          }
          stream.end()
        }
        pump()
      })
      const upstream = yield* upstreamWith()
      let delivered = 0
      let nextPause = 1024 * 1024
      const ahead: Array<number> = []
      const heard = yield* exchange(upstream, specOf(backend.url), get("/big"), {
        onData: (control, chunk) => {
          delivered += chunk.length
          if (delivered < nextPause) return
          nextPause += 4 * 1024 * 1024
          control.pause()
          setTimeout(() => {
            ahead.push(flushed - delivered)
            control.resume()
          }, 250)
        }
      })
      assert.strictEqual(heard.body.length, size)
      assert.lengthOf(ahead, 4)
      for (const bytes of ahead) assert.isBelow(bytes, 1024 * 1024, "what the backend sent beyond what was taken")
    }))

  it.live("trailers are handed to onResponseEnd, repeats kept", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-t": ["a", "b"] }))
        stream.end(Buffer.from([0, 0, 0, 0, 0]))
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get("/call", { trailers: true }))
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "data", "end"])
      assert.deepStrictEqual(heard.trailers, ["grpc-status", "0", "x-t", "a", "x-t", "b"])
    }))

  it.live("a trailers-only response is a head and an end, nothing between", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true })
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get("/call", { trailers: true }))
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "end"])
      assert.deepStrictEqual(headerValues(heard.headers, "grpc-status"), ["12"])
      assert.deepStrictEqual(heard.trailers, [])
    }))

  it.live("te: trailers is sent only when the client asked for trailers; any other te never", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend()
      const upstream = yield* upstreamWith()
      const spec = specOf(backend.url)
      yield* exchange(upstream, spec, get("/asked", { trailers: true }))
      yield* exchange(upstream, spec, get("/not-asked"))
      yield* exchange(upstream, spec, get("/gzip", { headers: ["host", "h", "te", "gzip"] }))
      assert.deepStrictEqual(backend.arrivals.map((arrival) => headerValues(arrival.rawHeaders, "te")), [
        ["trailers"],
        [],
        []
      ])
    }))

  it.live("repeated response headers stay separate (set-cookie)", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200, "set-cookie": ["a=1", "b=2"], "x-dup": ["1", "2"] })
        stream.end()
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get())
      assert.deepStrictEqual(headerValues(heard.headers, "set-cookie"), ["a=1", "b=2"])
      assert.deepStrictEqual(headerValues(heard.headers, "x-dup"), ["1", "2"])
    }))

  it.live("an interim 103 comes before the final head", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.additionalHeaders({ ":status": 103, link: "</style.css>; rel=preload" })
        setTimeout(() => {
          stream.respond({ ":status": 200 })
          stream.end("done")
        }, 20)
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get())
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 103", "head 200", "data", "end"])
    }))

  it.live("a stream refused with REFUSED_STREAM fails as processed-nothing, a connect failure's outcome", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM))
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get())
      assert.deepStrictEqual(heard.events, ["start", "sent", "error"])
      assert.instanceOf(heard.error, StreamRefused)
      assert.strictEqual(classifyUpstreamError(heard.error ?? new Error(), heard.beforeSend), "connect-failed")
    }))

  it.live("streams above a GOAWAY's last stream id are refused; the next request gets a new session", () =>
    Effect.gen(function*() {
      const held: Array<ServerHttp2Stream> = []
      const backend = yield* startH2Backend((stream, headers) => {
        if (backend.sessions() > 1) return echoPath(stream, headers, backend)
        held.push(stream)
        if (held.length < 3) return
        const first = held[0]
        first?.session?.goaway(constants.NGHTTP2_NO_ERROR, first.id ?? 0)
        first?.respond({ ":status": 200 })
        first?.end("first")
      })
      const upstream = yield* upstreamWith()
      const spec = specOf(backend.url)
      const all = yield* Effect.forEach([0, 1, 2], (i) => exchange(upstream, spec, get(`/r${i}`)), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(all.map((heard) => heard.body.toString()), ["first", "", ""])
      assert.deepStrictEqual(all.map((heard) => heard.error?.constructor.name), [
        undefined,
        "StreamRefused",
        "StreamRefused"
      ])
      const next = yield* exchange(upstream, spec, get("/after"))
      assert.strictEqual(next.body.toString(), "/after")
      assert.strictEqual(backend.sessions(), 2)
    }))

  it.live("a stream reset in the middle of the response is a reset, and nothing is heard after it", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200 })
        // A destroyed stream is reset at once (INTERNAL_ERROR); `close(code)` would end the response first.
        stream.write("partial", () => setTimeout(() => stream.destroy(new Error("backend crashed")), 20))
      })
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(backend.url), get())
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "data", "error"])
      assert.strictEqual(classifyUpstreamError(heard.error ?? new Error(), heard.beforeSend), "reset")
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(heard.events.at(-1), "error")
    }))

  it.live("abort cancels the stream and reports the reason once", () =>
    Effect.gen(function*() {
      const closes: Array<number> = []
      const backend = yield* startH2Backend((stream) => {
        stream.once("close", () => closes.push(stream.rstCode))
        stream.respond({ ":status": 200 })
        stream.write("some")
      })
      const upstream = yield* upstreamWith()
      const reason = new Error("enough")
      const heard = yield* exchange(upstream, specOf(backend.url), get(), {
        onData: (control) => control.abort(reason)
      })
      assert.strictEqual(heard.error, reason)
      assert.deepStrictEqual(heard.events, ["start", "sent", "head 200", "data", "error"])
      yield* waitUntil(() => closes.length === 1)
      assert.deepStrictEqual(closes, [constants.NGHTTP2_CANCEL])
      assert.deepStrictEqual(heard.events.filter((event) => event === "error"), ["error"])
    }))

  it.live("a response body that stalls for timeouts.idle fails with BodyTimeout", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend((stream) => {
        stream.respond({ ":status": 200 })
        stream.write("first")
      })
      const upstream = yield* upstreamWith({ idle: "300ms" })
      const heard = yield* exchange(upstream, specOf(backend.url), get())
      assert.instanceOf(heard.error, BodyTimeout)
      assert.strictEqual(classifyUpstreamError(heard.error ?? new Error(), heard.beforeSend), "timeout")
    }))

  it.live("a refused connect fails before anything was sent", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const upstream = yield* upstreamWith()
      const heard = yield* exchange(upstream, specOf(`http://127.0.0.1:${port}`), get())
      assert.deepStrictEqual(heard.events, ["error"])
      assert.strictEqual(classifyUpstreamError(heard.error ?? new Error(), heard.beforeSend), "connect-failed")
    }))

  it.live("a backend that never sends its SETTINGS fails as a connect timeout", () =>
    Effect.gen(function*() {
      const sockets = new Set<Socket>()
      const silent = createNetServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => undefined)
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void silent.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () =>
          Effect.sync(() => {
            for (const socket of sockets) socket.destroy()
            silent.close()
          })
      )
      const address = silent.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const upstream = yield* upstreamWith({ connect: "200ms" })
      const heard = yield* exchange(upstream, specOf(`http://127.0.0.1:${port}`), get())
      assert.deepStrictEqual(heard.events, ["error"])
      assert.instanceOf(heard.error, ConnectTimeout)
    }))

  it.live("a session without streams closes after timeouts.idle", () =>
    Effect.gen(function*() {
      const backend = yield* startH2Backend()
      const upstream = yield* upstreamWith({ idle: "300ms" })
      yield* exchange(upstream, specOf(backend.url), get())
      assert.strictEqual(backend.openSessions(), 1)
      yield* waitUntil(() => backend.openSessions() === 0)
    }))

  it.live("a released backend's session finishes its streams, then closes", () =>
    Effect.gen(function*() {
      const backend: H2Backend = yield* startH2Backend((stream) => {
        setTimeout(() => {
          stream.respond({ ":status": 200 })
          stream.end("late")
        }, 150)
      })
      const upstream = yield* upstreamWith()
      const fiber = yield* exchange(upstream, specOf(backend.url), get()).pipe(Effect.forkChild)
      yield* waitUntil(() => backend.arrivals.length === 1)
      upstream.release("b")
      const heard = yield* Fiber.join(fiber)
      assert.strictEqual(heard.body.toString(), "late")
      yield* waitUntil(() => backend.openSessions() === 0)
    }))
})
