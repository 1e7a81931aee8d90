/**
 * `npm run bench -- --h2` (or BENCH_H2=1): how fast Switchyard proxies HTTP/2, next to nginx doing
 * the same job, and how many gRPC unary calls per second it relays, next to the same calls sent
 * straight to the server; the method is `npm run bench`'s (`rounds.ts`), only the protocols differ.
 *
 * HTTP/2, each target its own process, all over the three HTTP/1.1 backends of the HTTP/1.1 bench
 * (`backends.ts`: nginx with one worker each, 100-byte body):
 * - `switchyard-h2`: `switchyard serve` with `server.tls` (the test fixtures' certificate) and its
 *   default `http2: true`, so ALPN picks h2; round robin, HTTP/1.1 keep-alive to the backends,
 *   otherwise its defaults (metrics, an access-log line per request, read and discarded);
 * - `switchyard-h2c`: the same without TLS, `server.h2c: true`, h2 with prior knowledge on the
 *   plain listener: what TLS costs, for reference;
 * - `nginx`: nginx's reverse proxy of the HTTP/1.1 bench behind `listen ... ssl http2` (`http2 on`
 *   from nginx 1.25.1), the same certificate, `keepalive 64` upstream (`nginx.ts`): the reference.
 * Load: `h2load -t1 -c10 -m10 -D<seconds>` (`h2-load.ts`): 10 connections with up to 10 streams in
 * flight each, 100 requests in flight in all, TLS with ALPN h2 (h2c for `switchyard-h2c`). One
 * thread, like wrk's, so the load takes one core at most; 10 × 10 is what a browser or a gRPC
 * client's handful of connections carries, where HTTP/1.1's 50 connections carried one each.
 * BENCH_H2_CLIENTS and BENCH_H2_STREAMS change them.
 *
 * gRPC: `grpc.ts` (a `@grpc/grpc-js` echo server, the load process, Switchyard over h2c to a
 * `protocol: h2c` backend); BENCH_GRPC_CALLS calls in flight (50).
 *
 * Reading the tables: as `npm run bench`'s (its header comment): req/s (calls/s), p50 and p99,
 * CPU µs per request (per call) of the target's process tree, and each over the reference's:
 * nginx for HTTP/2, `grpc-direct` for gRPC. p50 and p99 come from h2load's per-request log. The
 * load average is printed first; distrust a run on a busy machine.
 *
 * BENCH_SECONDS, BENCH_WARMUP_SECONDS and BENCH_ROUNDS as for `npm run bench`. Needs h2load
 * (Debian's nghttp2-client) and nginx. The defaults take about two minutes. Results also go to
 * bench/results/latest-h2.json.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startBackends } from "./backends.ts"
import { findExecutable } from "./children.ts"
import { responseBytes } from "./fixture.ts"
import { grpcLoader, startGrpcTargets } from "./grpc.ts"
import { h2loadLoader } from "./h2-load.ts"
import type { Server } from "./nginx.ts"
import { findNginx, startNginxH2Proxy } from "./nginx.ts"
import type { Target } from "./rounds.ts"
import {
  describeHost,
  describeRounds,
  formatSummaries,
  hostFacts,
  measureRounds,
  round2,
  roundSettings,
  summariesJson
} from "./rounds.ts"
import { startSwitchyard, switchyardMainJs, wholeNumberSetting } from "./switchyard.ts"

const resultsDir = new URL("./results/", import.meta.url).pathname
const tlsDir = new URL("../test/fixtures/tls/", import.meta.url).pathname
const tls = { cert: join(tlsDir, "cert.pem"), key: join(tlsDir, "key.pem") }

const backendCount = 3
const startTimeoutMs = 15_000
const reference = "nginx"
const grpcReference = "grpc-direct"

const startSwitchyardH2 = async (
  backends: ReadonlyArray<Server>,
  variant: { readonly name: string; readonly server: ReadonlyArray<string>; readonly about: string }
): Promise<Target> => {
  const { child, url } = await startSwitchyard({
    name: variant.name,
    backendPorts: backends.map((backend) => backend.port),
    accessLog: true,
    server: variant.server,
    timeoutMs: startTimeoutMs
  })
  return { name: variant.name, about: variant.about, url, child }
}

export const runH2Bench = async (): Promise<void> => {
  const settings = roundSettings()
  const clients = wholeNumberSetting("BENCH_H2_CLIENTS", 10, 1)
  const streams = wholeNumberSetting("BENCH_H2_STREAMS", 10, 1)
  const grpcCalls = wholeNumberSetting("BENCH_GRPC_CALLS", 50, 1)
  if (!existsSync(switchyardMainJs)) {
    throw new Error(`${switchyardMainJs} is missing: run \`npm run build\` first`)
  }
  const h2load = findExecutable("h2load")
  const nginx = findNginx()
  if (h2load === undefined || nginx === undefined) {
    throw new Error("the HTTP/2 bench needs h2load (Debian's nghttp2-client) and nginx (nginx-light), on PATH")
  }
  const loader = h2loadLoader(h2load, clients, streams)
  const grpc = grpcLoader(grpcCalls)
  const host = hostFacts()
  const backendKind = "nginx, 1 worker each"
  console.log(`Switchyard HTTP/2 bench: ${loader.describe(settings.seconds)}, ${describeRounds(settings)}`)
  console.log(`backends: ${backendCount} × ${backendKind} (HTTP/1.1), ${responseBytes}-byte body`)
  console.log(`gRPC: ${grpc.describe(settings.seconds)}`)
  console.log(describeHost(host))

  const backends = await startBackends(nginx, backendCount)
  const first = backends[0]
  if (first === undefined) throw new Error("no backend started")
  const targets: Array<Target> = [
    await startSwitchyardH2(backends, {
      name: "switchyard-h2",
      server: [`tls: { cert: ${JSON.stringify(tls.cert)}, key: ${JSON.stringify(tls.key)} }`],
      about: `Switchyard, TLS + h2 (ALPN), round robin over ${backends.length} HTTP/1.1 backends, access log on`
    }),
    await startSwitchyardH2(backends, {
      name: "switchyard-h2c",
      server: ["h2c: true"],
      about: `Switchyard, h2c (prior knowledge), round robin over ${backends.length} HTTP/1.1 backends, access log on`
    }),
    {
      name: reference,
      about: `nginx, TLS + h2 (ALPN), reverse proxy over ${backends.length} HTTP/1.1 backends`,
      ...await startNginxH2Proxy(nginx, backends.map((backend) => backend.port), tls)
    }
  ]
  const grpcTargets = await startGrpcTargets(first)
  const watched = [...backends, ...targets, ...grpcTargets].map((target) => target.child)

  const summaries = await measureRounds({ settings, loader, targets, reference, watched })
  console.log("")
  console.log(formatSummaries(summaries, reference))
  console.log("")
  const grpcSummaries = await measureRounds({
    settings,
    loader: grpc,
    targets: grpcTargets,
    reference: grpcReference,
    watched,
    unit: "call"
  })
  console.log("")
  console.log(formatSummaries(grpcSummaries, grpcReference, "call"))

  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, "latest-h2.json")
  const result = {
    date: new Date().toISOString(),
    host: { ...host, loadAverage: round2(host.loadAverage) },
    settings: {
      loader: loader.describe(settings.seconds),
      backends: `${backendCount} × ${backendKind}`,
      bodyBytes: responseBytes,
      ...settings,
      clients,
      streams
    },
    reference,
    targets: summariesJson(summaries),
    grpc: {
      loader: grpc.describe(settings.seconds),
      callsInFlight: grpcCalls,
      reference: grpcReference,
      targets: summariesJson(grpcSummaries)
    }
  }
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n")
  console.log(`written to ${file}`)
}
