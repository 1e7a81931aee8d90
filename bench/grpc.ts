/**
 * The gRPC part of `npm run bench -- --h2`: unary calls per second to a `@grpc/grpc-js` echo server
 * (`grpc-server.ts`), straight and through Switchyard, in the same rounds of the same run.
 *
 * - `grpc-direct`: the load process talks to the server itself: the ceiling of this setup.
 * - `switchyard-grpc`: the load process talks to Switchyard's plain listener (`server.h2c: true`)
 *   over h2c with prior knowledge, as it talks to the server, so the two rows differ by the proxy
 *   alone and neither pays for TLS; Switchyard routes the service's path prefix to a pool whose
 *   one backend is the server, `protocol: h2c`. Its default pool is the first HTTP bench backend,
 *   which only the readiness check uses. Defaults otherwise: metrics, an access-log line per call.
 *
 * The load (`grpc-load.ts`) is its own Node process: one channel, BENCH_GRPC_CALLS (default 50)
 * calls in flight, each followed by the next as soon as it is answered. 50 stays under
 * Switchyard's default `http2MaxStreams` of 100, beyond which grpc-js would queue calls itself.
 * CPU per call is the target's process tree's, as for requests: the server's for `grpc-direct`,
 * Switchyard's alone (not the server's) for `switchyard-grpc`. A grpc-js client is a costly
 * client, so on two cores the load process takes a large share of the CPU in both rows.
 */
import { Schema } from "effect"
import { spawnChild } from "./children.ts"
import type { Child } from "./children.ts"
import { echoServicePath } from "./grpc-echo.ts"
import type { Loader } from "./load.ts"
import { runToEnd } from "./load.ts"
import type { Server } from "./nginx.ts"
import type { Target } from "./rounds.ts"
import { startSwitchyard } from "./switchyard.ts"

const startTimeoutMs = 15_000
const readinessSeconds = 0.2

const grpcServerTs = new URL("./grpc-server.ts", import.meta.url).pathname
const grpcLoadTs = new URL("./grpc-load.ts", import.meta.url).pathname

const LoadResult = Schema.fromJsonString(Schema.Struct({
  calls: Schema.Number,
  errors: Schema.Number,
  seconds: Schema.Number,
  /** null when no call succeeded. */
  p50Ms: Schema.NullOr(Schema.Number),
  p99Ms: Schema.NullOr(Schema.Number),
  firstError: Schema.NullOr(Schema.String)
}))

const decodeLoadResult = Schema.decodeUnknownSync(LoadResult)

/** `grpc-load.ts` as a bench `Loader`; a target's "url" is its `host:port`. */
export const grpcLoader = (inFlight: number): Loader => ({
  describe: (seconds) => `grpc-load.ts: 1 channel, ${inFlight} unary calls in flight, ${seconds}s`,
  run: async (address, seconds) => {
    const result = decodeLoadResult(
      await runToEnd("grpc-load", process.execPath, [grpcLoadTs, address, String(inFlight), String(seconds)])
    )
    // A run of nothing but errors measures how fast failures come back: no figure to report.
    if (result.errors === result.calls) {
      throw new Error(`no gRPC call to ${address} succeeded (${result.calls} tried): ${result.firstError ?? "?"}`)
    }
    return {
      rps: result.calls / result.seconds,
      p50Ms: result.p50Ms ?? Number.NaN,
      p99Ms: result.p99Ms ?? Number.NaN,
      requests: result.calls,
      errors: result.errors
    }
  }
})

const startGrpcServer = async (): Promise<{ readonly child: Child; readonly port: number }> => {
  const child = spawnChild("grpc-server", process.execPath, [grpcServerTs])
  const match = await child.waitFor(/listening on (\d+)/, startTimeoutMs)
  return { child, port: Number(match[1]) }
}

/** The gRPC server and Switchyard in front of it, as the two targets of the gRPC rounds. */
export const startGrpcTargets = async (httpBackend: Server): Promise<ReadonlyArray<Target>> => {
  const server = await startGrpcServer()
  const address = `127.0.0.1:${server.port}`
  const proxy = await startSwitchyard({
    name: "switchyard-grpc",
    backendPorts: [httpBackend.port],
    accessLog: true,
    server: ["h2c: true"],
    config: () => [
      "pools:",
      "  grpc:",
      "    protocol: h2c",
      `    backends: [{ url: "http://${address}" }]`,
      "routes:",
      `  - match: { pathPrefix: ${echoServicePath} }`,
      "    pool: grpc"
    ],
    timeoutMs: startTimeoutMs
  })
  const proxyAddress = new URL(proxy.url).host
  // Its readiness check went to the HTTP pool: one short run proves the gRPC route before any round.
  await grpcLoader(1).run(proxyAddress, readinessSeconds)
  return [
    {
      name: "grpc-direct",
      about: `@grpc/grpc-js echo server at ${address}, no proxy`,
      url: address,
      child: server.child
    },
    {
      name: "switchyard-grpc",
      about: "Switchyard, client over h2c (prior knowledge), backend protocol h2c, access log on",
      url: proxyAddress,
      child: proxy.child
    }
  ]
}
