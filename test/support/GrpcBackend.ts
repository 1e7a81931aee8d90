/**
 * A real `@grpc/grpc-js` server for tests, and a client for it: one service, `test.Echo`, with
 * every kind of call — unary, server-, client- and bidi-streaming — over raw bytes (the serializers
 * are the identity, so no protobuf is needed), plus methods that fail and that are slow, and the
 * standard health service when asked for.
 */
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import type { Scope } from "effect"

const bytes = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => value,
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value
}

const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  originalName: name,
  ...bytes
})

export const echoService = {
  Unary: method("Unary", false, false),
  Fail: method("Fail", false, false),
  Slow: method("Slow", false, false),
  ServerStream: method("ServerStream", false, true),
  ClientStream: method("ClientStream", true, false),
  Bidi: method("Bidi", true, true)
} satisfies grpc.ServiceDefinition

export const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo")
export type EchoClient = InstanceType<typeof EchoClient>

export interface GrpcBackend {
  readonly port: number
  readonly url: string
  /** Calls that reached a handler, by method name. */
  readonly calls: Array<string>
  /** Calls the server saw cancelled (the client, or the proxy for it, gave up). */
  readonly cancelled: () => number
}

/**
 * `ServerStream` sends `count` (the request's first byte) messages, the first at once and the rest
 * after `streamPauseMs`, so a test can see the first arrive before the call ends; `Slow` answers
 * after 2 s; `Fail` ends with NOT_FOUND and trailing metadata.
 */
export const startGrpcBackend = (
  name: string,
  options: { readonly streamPauseMs?: number } = {}
): Effect.Effect<GrpcBackend, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: grpc.Server; readonly backend: GrpcBackend }, Error>((resume) => {
      const server = new grpc.Server()
      const calls: Array<string> = []
      let cancelled = 0
      const pauseMs = options.streamPauseMs ?? 300
      const initial = () => {
        const metadata = new grpc.Metadata()
        metadata.set("x-served-by", name)
        return metadata
      }
      const trailing = () => {
        const metadata = new grpc.Metadata()
        metadata.set("x-trailer", `from-${name}`)
        return metadata
      }
      server.addService(echoService, {
        Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          calls.push("Unary")
          call.sendMetadata(initial())
          callback(null, Buffer.concat([Buffer.from(`${name}:`), call.request]), trailing())
        },
        Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          calls.push("Fail")
          callback({ code: grpc.status.NOT_FOUND, details: "no such thing — ünïcode", metadata: trailing() })
        },
        Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          calls.push("Slow")
          const timer = setTimeout(() => callback(null, Buffer.from("late")), 2_000)
          call.on("cancelled", () => {
            cancelled++
            clearTimeout(timer)
          })
        },
        ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
          calls.push("ServerStream")
          const count = call.request[0] ?? 1
          call.write(Buffer.from("0"))
          setTimeout(() => {
            for (let i = 1; i < count; i++) call.write(Buffer.from(String(i)))
            call.end(trailing())
          }, pauseMs)
        },
        ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          calls.push("ClientStream")
          let total = 0
          call.on("data", (message: Buffer) => (total += message.length))
          call.on("end", () => callback(null, Buffer.from(String(total)), trailing()))
        },
        Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          calls.push("Bidi")
          call.on("data", (message: Buffer) => call.write(Buffer.concat([Buffer.from("echo:"), message])))
          call.on("end", () => call.end(trailing()))
        }
      })
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null) return resume(Effect.fail(error))
        resume(Effect.succeed({
          server,
          backend: { port, url: `http://127.0.0.1:${port}`, calls, cancelled: () => cancelled }
        }))
      })
    }),
    ({ server }) => Effect.sync(() => server.forceShutdown())
  ).pipe(Effect.map(({ backend }) => backend))

/** A client of `test.Echo` at `address` (`host:port`), over h2c; closed with the scope. */
export const echoClient = (address: string): Effect.Effect<EchoClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new EchoClient(address, grpc.credentials.createInsecure())),
    (client) => Effect.sync(() => client.close())
  )

export interface UnaryResult {
  readonly error: grpc.ServiceError | null
  readonly reply: Buffer | undefined
  readonly headers: grpc.Metadata | undefined
  readonly status: grpc.StatusObject | undefined
}

/** One unary call of `name`, with its response headers and final status, whatever the outcome. */
export const unaryCall = (
  client: EchoClient,
  name: "Unary" | "Fail" | "Slow",
  request: Buffer,
  options: grpc.CallOptions = {}
): Effect.Effect<UnaryResult> =>
  Effect.callback<UnaryResult>((resume) => {
    let headers: grpc.Metadata | undefined
    let status: grpc.StatusObject | undefined
    let outcome: Pick<UnaryResult, "error" | "reply"> | undefined
    const settle = () => {
      if (outcome !== undefined && status !== undefined) resume(Effect.succeed({ ...outcome, headers, status }))
    }
    const call = client.makeUnaryRequest<Buffer, Buffer>(
      echoService[name].path,
      (value) => value,
      (value) => value,
      request,
      new grpc.Metadata(),
      options,
      (error, reply) => {
        outcome = { error, reply }
        settle()
      }
    )
    call.on("metadata", (metadata: grpc.Metadata) => (headers = metadata))
    call.on("status", (received: grpc.StatusObject) => {
      status = received
      settle()
    })
  })
