/**
 * gRPC through the proxy, end to end with `@grpc/grpc-js` clients and servers over real loopback
 * sockets: every kind of call, metadata and trailers relayed, nothing buffered, and the proxy's
 * own answers in gRPC's terms — UNAVAILABLE when no backend is eligible, DEADLINE_EXCEEDED when
 * the call's `grpc-timeout` passes, a readable 415 for a gRPC call over HTTP/1.1.
 */
import { assert, describe, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Fiber } from "effect"
import { closedPort } from "../support/Backends.ts"
import { echoClient, echoService, startGrpcBackend, unaryCall } from "../support/GrpcBackend.ts"
import type { EchoClient } from "../support/GrpcBackend.ts"
import { send } from "../support/Http.ts"
import { h2Request, openSession } from "../support/Http2Client.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

/** A gRPC message frame: uncompressed, 4-byte length, the bytes. */
const grpcFrame = (message: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

const proxyFor = (backends: ReadonlyArray<Record<string, unknown>>, extra: Record<string, unknown> = {}) =>
  startProxy({ server: { h2c: true }, backends, ...extra })

const serverStream = (client: EchoClient, count: number) =>
  Effect.callback<ReadonlyArray<{ readonly message: string; readonly at: number }>, Error>((resume) => {
    const received: Array<{ message: string; at: number }> = []
    const call = client.makeServerStreamRequest<Buffer, Buffer>(
      echoService.ServerStream.path,
      (value) => value,
      (value) => value,
      Buffer.from([count])
    )
    call.on("data", (message: Buffer) => received.push({ message: message.toString(), at: performance.now() }))
    call.on("error", (error) => resume(Effect.fail(error)))
    call.on("end", () => resume(Effect.succeed(received)))
  })

describe("gRPC through the proxy", () => {
  it.live("a unary call: the reply, the response metadata and the trailers arrive as the server sent them", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c", name: "g1" }])
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      const result = yield* unaryCall(client, "Unary", Buffer.from("hello"))
      assert.isNull(result.error)
      assert.strictEqual(result.reply?.toString(), "g1:hello")
      assert.deepStrictEqual(result.headers?.get("x-served-by"), ["g1"])
      assert.strictEqual(result.status?.code, grpc.status.OK)
      assert.deepStrictEqual(result.status?.metadata.get("x-trailer"), ["from-g1"])
      const metrics = yield* send(proxy.adminUrl, { path: "/metrics" })
      assert.match(metrics.text, /lb_requests_total\{backend="g1",method="POST",status="200"\} 1\b/)
    }))

  it.live("a failed call's status, message and trailing metadata are relayed, and counted as what they mean", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c", name: "g1" }])
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      const result = yield* unaryCall(client, "Fail", Buffer.from("x"))
      assert.strictEqual(result.error?.code, grpc.status.NOT_FOUND)
      assert.strictEqual(result.error?.details, "no such thing — ünïcode")
      assert.deepStrictEqual(result.status?.metadata.get("x-trailer"), ["from-g1"])
      const metrics = yield* send(proxy.adminUrl, { path: "/metrics" })
      assert.match(metrics.text, /lb_requests_total\{backend="g1",method="POST",status="404"\} 1\b/)
    }))

  it.live("server streaming is not buffered: the first message arrives before the server has finished", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1", { streamPauseMs: 400 })
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c" }])
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      const messages = yield* serverStream(client, 5)
      assert.deepStrictEqual(messages.map((each) => each.message), ["0", "1", "2", "3", "4"])
      const [first, second] = messages
      assert.isAbove((second?.at ?? 0) - (first?.at ?? 0), 300, "the first message came ahead of the rest")
    }))

  it.live("client streaming and bidi streaming: messages cross both ways while the call is open", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c" }])
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      const total = yield* Effect.callback<string, Error>((resume) => {
        const call = client.makeClientStreamRequest<Buffer, Buffer>(
          echoService.ClientStream.path,
          (value) => value,
          (value) => value,
          (error, reply) => resume(error === null ? Effect.succeed(reply?.toString() ?? "") : Effect.fail(error))
        )
        for (const size of [1, 10, 100, 1_000, 10_000]) call.write(Buffer.alloc(size))
        call.end()
      })
      assert.strictEqual(total, "11111")
      // Ping-pong: each message is sent only once the echo of the one before has come back, which
      // can only finish if nothing waits for the call to end in either direction.
      const echoes = yield* Effect.callback<ReadonlyArray<string>, Error>((resume) => {
        const call = client.makeBidiStreamRequest<Buffer, Buffer>(
          echoService.Bidi.path,
          (value) => value,
          (value) => value
        )
        const seen: Array<string> = []
        call.on("data", (message: Buffer) => {
          seen.push(message.toString())
          if (seen.length < 5) call.write(Buffer.from(String(seen.length)))
          else call.end()
        })
        call.on("error", (error) => resume(Effect.fail(error)))
        call.on("end", () => resume(Effect.succeed(seen)))
        call.write(Buffer.from("0"))
      })
      assert.deepStrictEqual(echoes, ["echo:0", "echo:1", "echo:2", "echo:3", "echo:4"])
    }))

  it.live("no eligible backend: UNAVAILABLE (14) in a trailers-only response, not an HTTP error page", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1", { streamPauseMs: 1_000 })
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c", maxConnections: 1 }])
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      // The one slot is taken by a call still streaming.
      const busy = yield* Effect.forkChild(serverStream(client, 2))
      yield* waitUntil(() => backend.calls.includes("ServerStream"))
      const result = yield* unaryCall(client, "Unary", Buffer.from("x"))
      assert.strictEqual(result.error?.code, grpc.status.UNAVAILABLE)
      assert.match(result.error?.details ?? "", /no backend is available/)
      const session = yield* openSession(proxy.url)
      const raw = yield* h2Request(session, {
        method: "POST",
        path: echoService.Unary.path,
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: grpcFrame(Buffer.from("x"))
      })
      assert.strictEqual(raw.status, 200)
      assert.isTrue(raw.endedWithHead, "trailers-only: the head ends the stream")
      assert.strictEqual(raw.headers["grpc-status"], "14")
      assert.strictEqual(raw.body.length, 0)
      yield* Fiber.join(busy)
    }))

  it.live("a backend that refuses the connection is retried on another: nothing reached it, so it is safe", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const port = yield* closedPort
      const proxy = yield* proxyFor([
        { url: `http://127.0.0.1:${port}`, protocol: "h2c", name: "down" },
        { url: backend.url, protocol: "h2c", name: "up" }
      ], { strategy: "round-robin" })
      const client = yield* echoClient(`127.0.0.1:${proxy.port}`)
      for (let i = 0; i < 4; i++) {
        const result = yield* unaryCall(client, "Unary", Buffer.from(String(i)))
        assert.isNull(result.error)
      }
      assert.strictEqual(backend.calls.filter((name) => name === "Unary").length, 4)
    }))

  it.live("grpc-timeout is the call's deadline: DEADLINE_EXCEEDED from the proxy, and the backend's call cancelled", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c" }])
      const session = yield* openSession(proxy.url)
      const started = performance.now()
      const reply = yield* h2Request(session, {
        method: "POST",
        path: echoService.Slow.path,
        headers: { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "300m" },
        body: grpcFrame(Buffer.from("x"))
      })
      const elapsed = performance.now() - started
      assert.strictEqual(reply.headers["grpc-status"], "4")
      assert.isAtLeast(elapsed, 280)
      assert.isBelow(elapsed, 1_500)
      yield* waitUntil(() => backend.cancelled() === 1)
    }))

  it.live("a gRPC call over HTTP/1.1 is refused with a 415 that says why, and never forwarded", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const proxy = yield* proxyFor([{ url: backend.url, protocol: "h2c" }])
      const reply = yield* send(proxy.url, {
        method: "POST",
        path: echoService.Unary.path,
        headers: { "content-type": "application/grpc" },
        body: grpcFrame(Buffer.from("x"))
      })
      assert.strictEqual(reply.status, 415)
      assert.match(JSON.parse(reply.text).message, /gRPC needs HTTP\/2/)
      assert.deepStrictEqual(backend.calls, [])
      // gRPC-Web is built for HTTP/1.1 and is not refused.
      const web = yield* send(proxy.url, {
        method: "POST",
        path: echoService.Unary.path,
        headers: { "content-type": "application/grpc-web" },
        body: "x"
      })
      assert.notStrictEqual(web.status, 415)
    }))
})
