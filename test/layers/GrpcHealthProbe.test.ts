/**
 * The gRPC health probe (`healthCheck.grpc`) against real `@grpc/grpc-js` servers on loopback:
 * `grpc.health.v1.Health/Check` with the messages written by hand (no protobuf library — a
 * `HealthCheckResponse` is one varint field), over h2c and h2. The verdict and its reason are what
 * an operator sees in the backend's health.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Server, ServerCredentials, status as grpcStatus } from "@grpc/grpc-js"
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition } from "@grpc/grpc-js"
import { Context, Effect, Fiber, Layer } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import { connect, createServer as createNetServer } from "node:net"
import type { Server as NetServer, Socket } from "node:net"
import { getCACertificates, setDefaultCACertificates } from "node:tls"
import type { BackendSpec } from "../../src/domain/Backend.ts"
import type { ProbeSettings } from "../../src/domain/BackendPolicy.ts"
import { servingStatusOf } from "../../src/http/upstream/GrpcHealthCheck.ts"
import { HealthProbeLive } from "../../src/layers/HealthProbeLive.ts"
import { HealthProbe } from "../../src/services/HealthProbe.ts"
import type { HealthProbeShape } from "../../src/services/HealthProbe.ts"
import { closedPort } from "../support/Backends.ts"
import { tlsFixture } from "../support/Http2Backends.ts"

const defaultCAs = getCACertificates("default")
beforeAll(() => setDefaultCACertificates([...defaultCAs, tlsFixture.cert]))
afterAll(() => setDefaultCACertificates(defaultCAs))

const identity = (bytes: Buffer): Buffer => bytes

/** `grpc.health.v1.Health` with messages as raw bytes: the test writes and reads them itself. */
const healthService: ServiceDefinition = {
  Check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity
  }
}

const SERVING = 1
const NOT_SERVING = 2

/** `HealthCheckResponse { status }`: field 1, varint (absent when 0, as protobuf writes it). */
const healthResponse = (status: number): Buffer => status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status])

type Check = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void

interface GrpcBackend {
  readonly port: number
  /** Check requests received, as bytes. */
  readonly requests: Array<Buffer>
}

/** A gRPC server on loopback, with the Health service answering by `check` (none: no Health service). */
const startGrpcServer = (
  check: Check | undefined,
  options: { readonly tls?: boolean } = {}
): Effect.Effect<GrpcBackend, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Server; readonly backend: GrpcBackend }, Error>((resume) => {
      const server = new Server()
      const requests: Array<Buffer> = []
      if (check !== undefined) {
        server.addService(healthService, {
          Check: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
            requests.push(call.request)
            check(call, callback)
          }
        })
      }
      const credentials = options.tls === true
        ? ServerCredentials.createSsl(null, [{
          cert_chain: Buffer.from(tlsFixture.cert),
          private_key: Buffer.from(tlsFixture.key)
        }])
        : ServerCredentials.createInsecure()
      server.bindAsync("127.0.0.1:0", credentials, (error, port) => {
        if (error !== null) resume(Effect.fail(error))
        else resume(Effect.succeed({ server, backend: { port, requests } }))
      })
    }),
    ({ server }) => Effect.sync(() => server.forceShutdown())
  ).pipe(Effect.map(({ backend }) => backend))

/** A TCP relay to `port` that counts the connections made through it. */
const countingRelay = (
  port: number
): Effect.Effect<{ readonly port: number; readonly connections: () => number }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly relay: NetServer; readonly sockets: Set<Socket> }>((resume) => {
      const sockets = new Set<Socket>()
      const relay = createNetServer((inbound) => {
        const outbound = connect(port, "127.0.0.1")
        for (const socket of [inbound, outbound]) {
          sockets.add(socket)
          socket.on("error", () => undefined)
        }
        inbound.pipe(outbound).pipe(inbound)
      })
      relay.listen(0, "127.0.0.1", () => resume(Effect.succeed({ relay, sockets })))
    }),
    ({ relay, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        relay.close()
      })
  ).pipe(Effect.map(({ relay, sockets }) => {
    const address = relay.address()
    return {
      port: typeof address === "object" && address !== null ? address.port : 0,
      connections: () => sockets.size / 2
    }
  }))

const answering = (status: number): Check => (_call, callback) => callback(null, healthResponse(status))

const h2c = (port: number): BackendSpec => ({ name: "g", url: `http://127.0.0.1:${port}`, weight: 1, protocol: "h2c" })

const settings: ProbeSettings = { path: "/health", intervalMs: 1_000, timeoutMs: 1_000, grpc: true }

const healthProbe: Effect.Effect<HealthProbeShape, never, Scope.Scope> = Layer.build(HealthProbeLive).pipe(
  Effect.map((context) => Context.get(context, HealthProbe))
)

describe("gRPC health probe", () => {
  it.live("SERVING is healthy; the request is the empty HealthCheckRequest, the session kept for the next probe", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer(answering(SERVING))
      const relay = yield* countingRelay(backend.port)
      const probe = yield* healthProbe
      const first = yield* probe.probe(h2c(relay.port), settings)
      const second = yield* probe.probe(h2c(relay.port), settings)
      assert.isTrue(first.healthy)
      assert.isTrue(second.healthy)
      assert.deepStrictEqual(backend.requests, [Buffer.alloc(0), Buffer.alloc(0)])
      assert.strictEqual(relay.connections(), 1)
    }))

  it.live("over h2 (TLS) too", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer(answering(SERVING), { tls: true })
      const probe = yield* healthProbe
      const result = yield* probe.probe(
        { name: "g", url: `https://localhost:${backend.port}`, weight: 1, protocol: "h2" },
        settings
      )
      assert.isTrue(result.healthy)
    }))

  it.live("NOT_SERVING is unhealthy, and says so", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer(answering(NOT_SERVING))
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(h2c(backend.port), settings), { healthy: false, reason: "NOT_SERVING" })
    }))

  it.live("a status left unset (UNKNOWN) is unhealthy", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer(answering(0))
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(h2c(backend.port), settings), { healthy: false, reason: "UNKNOWN" })
    }))

  it.live("a server without the Health service is unhealthy with UNIMPLEMENTED", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer(undefined)
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(h2c(backend.port), settings), {
        healthy: false,
        reason: "grpc-status 12 (UNIMPLEMENTED)"
      })
    }))

  it.live("a failed call is unhealthy with its gRPC status", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcServer((_call, callback) =>
        callback({ code: grpcStatus.UNAVAILABLE, details: "draining" })
      )
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(h2c(backend.port), settings), {
        healthy: false,
        reason: "grpc-status 14 (UNAVAILABLE)"
      })
    }))

  it.live("a server that is down is unhealthy: connection refused", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const probe = yield* healthProbe
      assert.deepStrictEqual(yield* probe.probe(h2c(port), settings), { healthy: false, reason: "connection refused" })
    }))

  it.effect("no answer within the timeout is unhealthy, on the Clock", () =>
    Effect.gen(function*() {
      let called: () => void = () => undefined
      const arrived = new Promise<void>((resolve) => (called = resolve))
      const backend = yield* startGrpcServer(() => called())
      const probe = yield* healthProbe
      const fiber = yield* probe.probe(h2c(backend.port), settings).pipe(Effect.forkChild)
      yield* Effect.promise(() => arrived)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { healthy: false, reason: "no answer within 1s" })
    }))
})

describe("HealthCheckResponse, read by hand", () => {
  it("the status field among others, unknown fields skipped", () => {
    // field 2 (length-delimited, "ab"), field 1 = NOT_SERVING, field 3 (fixed32)
    const message = Buffer.from([0x12, 0x02, 0x61, 0x62, 0x08, 0x02, 0x1d, 1, 2, 3, 4])
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message])
    assert.strictEqual(servingStatusOf(frame), NOT_SERVING)
  })

  it("an empty message is UNKNOWN (0); a missing or compressed one is not a status", () => {
    assert.strictEqual(servingStatusOf(Buffer.from([0, 0, 0, 0, 0])), 0)
    assert.strictEqual(servingStatusOf(Buffer.alloc(0)), "no response message")
    assert.strictEqual(servingStatusOf(Buffer.from([1, 0, 0, 0, 2, 0x08, 0x01])), "a compressed response message")
  })
})
