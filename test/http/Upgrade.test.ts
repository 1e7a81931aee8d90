/**
 * WebSocket and other upgrades through the real proxy, over real loopback sockets: Node's own
 * `WebSocket` client on one side, a minimal RFC 6455 echo server on the other.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import type { IncomingMessage } from "node:http"
import { connect } from "node:net"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { closedPort, startBackend } from "../support/Backends.ts"
import type { TestBackend } from "../support/Backends.ts"
import { writeConfig } from "../support/Cli.ts"
import { send, sendRaw, statusOf } from "../support/Http.ts"
import { startProxy, startProxyFromFile } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const websocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** A server frame: unmasked, final, text or close; short and 16-bit lengths only. */
const frame = (opcode: 0x1 | 0x8, payload: Buffer): Buffer => {
  const length = payload.length < 126
    ? Buffer.from([0x80 | opcode, payload.length])
    : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff])
  return Buffer.concat([length, payload])
}

/**
 * Reads the client's (masked) frames as they complete: the opcode and the unmasked payload.
 * Enough for the short messages these tests send.
 */
const frameReader = (onFrame: (opcode: number, payload: Buffer) => void) => {
  let buffered = Buffer.alloc(0)
  return (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      const first = buffered[0]
      const second = buffered[1]
      if (first === undefined || second === undefined) return
      const short = second & 0x7f
      const offset = short === 126 ? 4 : 2
      const length = short === 126 ? buffered.readUInt16BE(2) : short
      if (buffered.length < offset + 4 + length) return
      const mask = buffered.subarray(offset, offset + 4)
      const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length))
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0)
      buffered = buffered.subarray(offset + 4 + length)
      onFrame(first & 0x0f, payload)
    }
  }
}

interface Handshake {
  readonly headers: IncomingMessage["headers"]
  readonly rawHeaders: ReadonlyArray<string>
  readonly url: string
}

interface WebSocketBackend {
  readonly backend: TestBackend
  /** Upgrade requests as the backend received them. */
  readonly handshakes: Array<Handshake>
  /** The backend's upgraded sockets that are still open. */
  readonly open: () => number
}

/**
 * A WebSocket echo server: accepts the handshake (choosing the first subprotocol offered), greets
 * with `hello` in the same write as its `101`, then echoes every text message.
 */
const startWebSocketBackend = (name: string): Effect.Effect<WebSocketBackend, never, Scope.Scope> =>
  Effect.gen(function*() {
    const backend = yield* startBackend(name)
    const handshakes: Array<Handshake> = []
    const sockets = new Set<Duplex>()
    backend.server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
      handshakes.push({ headers: request.headers, rawHeaders: request.rawHeaders, url: request.url ?? "" })
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => undefined)
      // Node's HTTP server allows half-open sockets: the peer's end must be answered by hand.
      socket.on("end", () => socket.end())
      const key = String(request.headers["sec-websocket-key"])
      const accept = createHash("sha1").update(key + websocketGuid).digest("base64")
      const protocol = (request.headers["sec-websocket-protocol"] ?? "").split(",")[0]?.trim()
      socket.write(Buffer.concat([
        Buffer.from(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n` +
            (protocol === undefined || protocol === "" ? "" : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
            "\r\n"
        ),
        frame(0x1, Buffer.from("hello"))
      ]))
      socket.on(
        "data",
        frameReader((opcode, payload) => {
          if (opcode === 0x1) socket.write(frame(0x1, payload))
          if (opcode === 0x8) socket.end(frame(0x8, payload))
        })
      )
    })
    return { backend, handshakes, open: () => sockets.size }
  })

interface Client {
  readonly socket: WebSocket
  readonly messages: Array<string>
  readonly closed: () => boolean
}

/** Node's built-in WebSocket client, open; closed with the scope. */
const openWebSocket = (
  url: string,
  protocols?: ReadonlyArray<string>
): Effect.Effect<Client, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Client, Error>((resume) => {
      const socket = new WebSocket(url, protocols === undefined ? undefined : [...protocols])
      const messages: Array<string> = []
      let closed = false
      socket.addEventListener("message", (event) => messages.push(String(event.data)))
      socket.addEventListener("close", () => {
        closed = true
      })
      socket.addEventListener("open", () => resume(Effect.succeed({ socket, messages, closed: () => closed })))
      socket.addEventListener("error", () => resume(Effect.fail(new Error(`the WebSocket to ${url} failed`))))
    }),
    (client) => Effect.sync(() => client.socket.close())
  )

/** A raw upgrade request's first bytes back, or everything until the proxy closes. */
const upgradeHead = (host = "example.test", extra = "") =>
  `GET /chat HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`

const bodyOf = (raw: string): Record<string, unknown> => JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4))

/** A raw client: the bytes it has received so far, and whether the proxy closed on it. */
const rawClient = (
  port: number
): Effect.Effect<
  { readonly socket: Socket; readonly received: () => string; readonly closed: () => boolean },
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const socket = connect(port, "127.0.0.1")
      let received = ""
      let closed = false
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1")
      })
      socket.on("close", () => {
        closed = true
      })
      socket.on("error", () => undefined)
      return { socket, received: () => received, closed: () => closed }
    }),
    (client) => Effect.sync(() => client.socket.destroy())
  )

describe("WebSocket and other upgrades", () => {
  it.live("messages cross both ways, with X-Forwarded-*, Host, Upgrade and every offered subprotocol passed on", () =>
    Effect.gen(function*() {
      const ws = yield* startWebSocketBackend("ws")
      const proxy = yield* startProxy({ backends: [{ name: "ws", url: ws.backend.url }] })
      const client = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/chat?room=7`, ["chat", "superchat"])
      assert.strictEqual(client.socket.protocol, "chat")
      client.socket.send("one")
      client.socket.send("two")
      yield* waitUntil(() => client.messages.length === 3)
      // `hello` came in the backend's first write, with its 101 head.
      assert.deepStrictEqual(client.messages, ["hello", "one", "two"])

      const seen = ws.handshakes[0]
      assert.strictEqual(seen?.url, "/chat?room=7")
      assert.strictEqual(seen?.headers["host"], `127.0.0.1:${proxy.port}`)
      assert.strictEqual(seen?.headers["upgrade"], "websocket")
      assert.strictEqual(seen?.headers["connection"], "Upgrade")
      assert.strictEqual(seen?.headers["sec-websocket-protocol"], "chat, superchat")
      assert.strictEqual(seen?.headers["sec-websocket-version"], "13")
      assert.isString(seen?.headers["sec-websocket-key"])
      assert.strictEqual(seen?.headers["x-forwarded-for"], "127.0.0.1")
      assert.strictEqual(seen?.headers["x-forwarded-proto"], "http")
      assert.strictEqual(seen?.headers["x-forwarded-host"], `127.0.0.1:${proxy.port}`)

      // The open tunnel is a request in flight until it closes.
      assert.strictEqual(proxy.registry.get("ws")?.inFlight, 1)
      client.socket.close()
      yield* waitUntil(() => client.closed() && ws.open() === 0 && proxy.registry.get("ws")?.inFlight === 0)
    }))

  it.live("a tunnel with no traffic either way is closed after timeouts.idle; one with traffic stays", () =>
    Effect.gen(function*() {
      const ws = yield* startWebSocketBackend("ws")
      const proxy = yield* startProxy({ backends: [{ url: ws.backend.url }], timeouts: { idle: "300ms" } })
      const busy = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      const idle = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      const openedAt = Date.now()
      for (let i = 0; i < 6; i++) {
        yield* Effect.sleep("100 millis")
        busy.socket.send(`tick ${i}`)
      }
      yield* waitUntil(() => idle.closed())
      const idleFor = Date.now() - openedAt
      assert.isAtLeast(idleFor, 300)
      assert.isFalse(busy.closed(), "a tunnel with traffic outlives the idle timeout")
      yield* waitUntil(() => busy.messages.length === 7)
      yield* waitUntil(() => ws.open() === 1)
    }))

  it.live("no eligible backend: 503 with JSON and Retry-After, and an open tunnel counts against maxConnections", () =>
    Effect.gen(function*() {
      const ws = yield* startWebSocketBackend("ws")
      const proxy = yield* startProxy({ backends: [{ url: ws.backend.url, maxConnections: 1 }] })
      const first = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      const raw = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(raw), 503)
      assert.match(raw, /\r\nRetry-After: \d+\r\n/i)
      assert.deepInclude(bodyOf(raw), { status: 503, message: "no backend is available" })
      assert.strictEqual(ws.handshakes.length, 1)
      first.socket.close()
      yield* waitUntil(() => proxy.registry.pool()[0]?.inFlight === 0)
      assert.strictEqual(statusOf(yield* sendRaw(proxy.port, upgradeHead(), 300)), 101)
    }))

  it.live("a backend that refuses the upgrade has its answer relayed, and the connection closes", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("refuses", (request, response) => {
        request.resume()
        response.writeHead(403, { "content-type": "text/plain", "x-reason": "no entry" })
        response.end("forbidden")
      })
      // Without an `upgrade` listener, Node's server passes upgrade requests to the request handler.
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const raw = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(raw), 403)
      assert.match(raw, /\r\nx-reason: no entry\r\n/)
      assert.match(raw, /\r\nConnection: close\r\n/)
      assert.isTrue(raw.endsWith("\r\n\r\nforbidden"))
      yield* waitUntil(() => proxy.registry.pool()[0]?.inFlight === 0)
    }))

  it.live("a backend's 503 with Retry-After to an upgrade is relayed, and honoured as for any request", () =>
    Effect.gen(function*() {
      const busy = yield* startBackend("busy", (request, response) => {
        request.resume()
        response.writeHead(503, { "retry-after": "3", "content-type": "text/plain" })
        response.end("busy")
      })
      const proxy = yield* startProxy({
        retry: { maxDelay: "2s", honorRetryAfter: true },
        backends: [{ name: "busy", url: busy.url }]
      })
      const raw = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(raw), 503)
      assert.match(raw, /\r\nretry-after: 3\r\n/)
      yield* waitUntil(() => proxy.registry.get("busy")?.circuit._tag === "Open")
      assert.deepInclude(proxy.registry.get("busy")?.circuit, { reason: "the backend asked to retry after 2000 ms" })
    }))

  it.live("a backend that cannot be reached: 502 with JSON", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const proxy = yield* startProxy({ backends: [{ url: `http://127.0.0.1:${port}` }] })
      const raw = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(raw), 502)
      assert.deepInclude(bodyOf(raw), { status: 502, message: "the backend could not be reached" })
      yield* waitUntil(() => proxy.registry.pool()[0]?.inFlight === 0)
    }))

  it.live("a backend that does not answer within timeouts.request: 504; the rate limit applies to upgrades too", () =>
    Effect.gen(function*() {
      const silent = yield* startBackend("silent")
      // An `upgrade` listener that never answers: the handshake hangs.
      silent.server.on("upgrade", (_request: IncomingMessage, socket: Duplex) => socket.on("error", () => undefined))
      const proxy = yield* startProxy({
        timeouts: { request: "200ms" },
        rateLimit: { requestsPerSecond: 0.5, burst: 1 },
        backends: [{ url: silent.url }]
      })
      const timedOut = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(timedOut), 504)
      assert.deepInclude(bodyOf(timedOut), { status: 504, message: "the backend did not answer in time" })
      const limited = yield* sendRaw(proxy.port, upgradeHead())
      assert.strictEqual(statusOf(limited), 429)
      assert.match(limited, /\r\nRetry-After: \d+\r\n/i)
      yield* waitUntil(() => proxy.registry.pool()[0]?.inFlight === 0)
    }))

  it.live("an h2c upgrade is tunnelled the same way, HTTP2-Settings included, bytes sent early held until the switch", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("h2c")
      const seen: Array<IncomingMessage["headers"]> = []
      const early: Array<string> = []
      backend.server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        seen.push(request.headers)
        early.push(head.toString("latin1"))
        socket.on("error", () => undefined)
        socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString("latin1")}`))
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port)
      const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
      client.socket.write(
        "GET / HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
          `HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n${preface}`
      )
      yield* waitUntil(() => client.received().includes(`echo:${preface}`))
      assert.match(client.received(), /^HTTP\/1\.1 101 Switching Protocols\r\n/)
      assert.match(client.received(), /\r\nUpgrade: h2c\r\n/)
      assert.deepInclude(seen[0], {
        upgrade: "h2c",
        connection: "Upgrade, HTTP2-Settings",
        "http2-settings": "AAMAAABkAAQAAP__",
        "x-forwarded-proto": "http"
      })
      assert.deepStrictEqual(early, [""], "nothing past the request head reached the backend before its 101")
    }))

  it.live("a declared body goes first as the body; a chunked one is refused", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("h2c")
      const received: Array<string> = []
      backend.server.on("upgrade", (_request: IncomingMessage, socket: Duplex, head: Buffer) => {
        received.push(head.toString("latin1"))
        socket.on("error", () => undefined)
        socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        socket.on("data", (chunk: Buffer) => received.push(chunk.toString("latin1")))
      })
      const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
      const client = yield* rawClient(proxy.port)
      client.socket.write(
        "POST /form HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n" +
          "Content-Length: 5\r\n\r\nhelloAFTER"
      )
      yield* waitUntil(() => received.join("") === "helloAFTER")
      assert.strictEqual(received[0], "hello", "the body, before the backend's 101")

      const chunked = yield* sendRaw(
        proxy.port,
        "POST / HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
      )
      assert.strictEqual(statusOf(chunked), 501)
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("an open tunnel survives a reload that removes its backend", () =>
    Effect.gen(function*() {
      const a = yield* startWebSocketBackend("a")
      const b = yield* startWebSocketBackend("b")
      const configText = (backend: TestBackend) =>
        `server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { level: error, access: false }
backends:
  - { name: ${backend.name}, url: "${backend.url}" }
`
      const file = writeConfig(configText(a.backend))
      const proxy = yield* startProxyFromFile(file)
      const client = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      writeFileSync(file, configText(b.backend))
      const reply = yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })
      assert.deepInclude(JSON.parse(reply.text), { added: ["b"], removed: ["a"] })
      client.socket.send("still here")
      yield* waitUntil(() => client.messages.length === 2)
      assert.deepStrictEqual(client.messages, ["hello", "still here"])
      // The removed backend lingers while its tunnel is open, and is forgotten once it closes.
      assert.strictEqual(proxy.registry.get("a")?.inFlight, 1)
      client.socket.close()
      yield* waitUntil(() => proxy.registry.get("a") === undefined)
      const next = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      yield* waitUntil(() => next.messages.length === 1)
      assert.strictEqual(b.handshakes.length, 1)
    }))

  it.live("shutdown: an open tunnel has the grace period, then is closed; new connections are refused", () =>
    Effect.gen(function*() {
      const ws = yield* startWebSocketBackend("ws")
      const scope = yield* Scope.make()
      const proxy = yield* startProxy({ server: { gracePeriod: "300ms" }, backends: [{ url: ws.backend.url }] }).pipe(
        Scope.provide(scope)
      )
      const client = yield* openWebSocket(`ws://127.0.0.1:${proxy.port}/`)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* Effect.sleep("100 millis")
      client.socket.send("during the drain")
      yield* waitUntil(() => client.messages.length === 2)
      assert.isFalse(client.closed(), "the tunnel outlives the start of the drain")
      const refused = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${proxy.port}/`).then(() => "answered", () => "refused")
      )
      assert.strictEqual(refused, "refused")
      yield* Fiber.join(closing)
      yield* waitUntil(() => client.closed() && ws.open() === 0)
    }))
})
