/**
 * `npm run bench`: how fast Switchyard proxies, next to the same backends with nothing in between
 * and next to nginx doing the same job, on this machine.
 *
 * What runs, each in its own process:
 * - three backends answering every request with the same 100-byte body: nginx with one worker
 *   each, or, when nginx is not installed, a bare `node:http` server each (`node-backend.ts`);
 * - the targets:
 *   - `switchyard`: `node dist/main.js serve` from a generated config, round robin over the three,
 *     with its defaults (metrics, and an access-log line per request to stdout, which the bench
 *     reads and discards as a log collector would);
 *   - `switchyard-quiet`: the same with `logging.access: false`, to show what access logs cost;
 *   - `direct`: the first backend alone, with no proxy: the ceiling of this setup;
 *   - `nginx`: nginx as a reverse proxy over the three (one worker, `keepalive 64` upstream,
 *     HTTP/1.1, `X-Forwarded-*`; see `nginx.ts`): the bar a production proxy sets. Only with nginx.
 * - the load generator: `wrk -t1 -c50 -d<N>s --latency`, or autocannon `-c 50` without wrk.
 * Each of the rounds runs every target once, after a short warm-up (three times as long before a
 * target's first run), in an order rotated per round so that no target is always first. Each
 * column of the table is the median over the rounds.
 *
 * Reading the table:
 * - req/s is throughput with 50 keep-alive connections each sending its next request as soon as
 *   the last is answered. p50 and p99 are latencies at that load. With a fixed number of
 *   connections, latency is about connections ÷ req/s (Little's law), so p50 mostly mirrors
 *   throughput; the gap from p50 to p99 is the tail (GC pauses, event-loop stalls).
 * - "req/s ÷ nginx" is the target's req/s over nginx's: 0.25 means a quarter of nginx's throughput.
 *   "p99 ÷ nginx" is its p99 over nginx's: 4 means a tail four times as long. Without nginx both
 *   ratios are to `direct`, a bound no proxy reaches (a proxy does a backend's work plus its own).
 * - Load generator, proxy and backends share this machine's cores, so compare ratios across
 *   machines, not absolute figures, and distrust a run on a busy machine (the load average is
 *   printed first).
 *
 * Settings, from the environment: BENCH_SECONDS per measured run (default 5),
 * BENCH_WARMUP_SECONDS before each run (1), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50),
 * BENCH_LOADER=autocannon to use autocannon although wrk is installed, BENCH_NGINX=off to run as if
 * nginx were not installed, BENCH_BASELINE=/path/to/other/dist/bundle/switchyard.js to run
 * another build beside this one (`baseline` with the defaults and `baseline-quiet`, access log
 * off) for an A/B in the same minutes, BENCH_WORKERS=N (or `--workers N`) to add
 * `switchyard-workers-N`: the defaults with `workers: N`, a supervisor and N worker processes,
 * whose CPU is counted with the supervisor's (the process tree).
 *
 * `--h2` (or BENCH_H2=1) runs the HTTP/2 and gRPC bench instead: see `h2.ts`.
 *
 * CPU per request is the CPU (user + system) the target's processes spent during the measured run
 * divided by the requests answered: the figure that barely moves on a shared machine, where req/s
 * swings 2× between runs. The backends' CPU is not in it (except for `direct`, which is a backend). The defaults take just over a minute. The results are also written to
 * bench/results/latest.json.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startBackends } from "./backends.ts"
import { findExecutable, runBench } from "./children.ts"
import { responseBytes } from "./fixture.ts"
import { runH2Bench } from "./h2.ts"
import type { Loader } from "./load.ts"
import { autocannonLoader, wrkLoader } from "./load.ts"
import type { Server } from "./nginx.ts"
import { findNginx, startNginxProxy } from "./nginx.ts"
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

const backendCount = 3
const startTimeoutMs = 15_000

interface SwitchyardRun {
  readonly accessLog: boolean
  /** Another build's `dist/main.js`, under another name. */
  readonly build?: { readonly name: string; readonly mainJs: string }
  /** `workers:` in the config; absent for the default (one process). */
  readonly workers?: number
}

const startTarget = async (backends: ReadonlyArray<Server>, run: SwitchyardRun): Promise<Target> => {
  const { accessLog, build, workers } = run
  const name = build?.name ??
    (workers === undefined ? (accessLog ? "switchyard" : "switchyard-quiet") : `switchyard-workers-${workers}`)
  const { child, url } = await startSwitchyard({
    name,
    backendPorts: backends.map((backend) => backend.port),
    accessLog,
    config: () => workers === undefined ? [] : [`workers: ${workers}`],
    ...(build === undefined ? {} : { mainJs: build.mainJs }),
    timeoutMs: startTimeoutMs
  })
  const about = `Switchyard${build === undefined ? "" : ` (${build.mainJs})`}, round robin over ${backends.length}` +
    ` backends, access log ${accessLog ? "on" : "off"}${workers === undefined ? "" : `, ${workers} workers`}`
  return { name, about, url, child }
}

const main = async (): Promise<void> => {
  const settings = roundSettings()
  const connections = wholeNumberSetting("BENCH_CONNECTIONS", 50, 1)
  if (!existsSync(switchyardMainJs)) {
    throw new Error(`${switchyardMainJs} is missing: run \`npm run build\` first`)
  }

  const nginx = process.env["BENCH_NGINX"] === "off" ? undefined : findNginx()
  // Another build's executable, run beside this one (access log on and off) for an A/B in the same minutes.
  const baseline = process.env["BENCH_BASELINE"] === undefined || process.env["BENCH_BASELINE"] === ""
    ? undefined
    : process.env["BENCH_BASELINE"]
  const workersFlag = process.argv.indexOf("--workers")
  const workersText = workersFlag === -1 ? process.env["BENCH_WORKERS"] : process.argv[workersFlag + 1]
  const workers = workersText === undefined || workersText === "" ? undefined : Number(workersText)
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    throw new Error(
      `--workers (BENCH_WORKERS) must be a whole number of at least 1, got ${JSON.stringify(workersText)}`
    )
  }
  const wrk = process.env["BENCH_LOADER"] === "autocannon" ? undefined : findExecutable("wrk")
  const loader: Loader = wrk === undefined ? autocannonLoader(connections) : wrkLoader(wrk, connections)
  const host = hostFacts()
  const backendKind = nginx === undefined ? "node:http (nginx not found)" : "nginx, 1 worker each"
  console.log(`Switchyard bench: ${loader.describe(settings.seconds)}, ${describeRounds(settings)}`)
  console.log(`backends: ${backendCount} × ${backendKind}, ${responseBytes}-byte body`)
  console.log(describeHost(host))

  const backends = await startBackends(nginx, backendCount)
  const first = backends[0]
  if (first === undefined) throw new Error("no backend started")
  const targets: Array<Target> = [
    await startTarget(backends, { accessLog: true }),
    await startTarget(backends, { accessLog: false }),
    ...(workers === undefined ? [] : [await startTarget(backends, { accessLog: true, workers })]),
    ...(baseline === undefined ? [] : [
      await startTarget(backends, { accessLog: true, build: { name: "baseline", mainJs: baseline } }),
      await startTarget(backends, { accessLog: false, build: { name: "baseline-quiet", mainJs: baseline } })
    ]),
    { name: "direct", about: `${first.child.name} alone, no proxy`, url: first.url, child: first.child }
  ]
  if (nginx !== undefined) {
    const proxy = await startNginxProxy(nginx, backends.map((backend) => backend.port))
    targets.push({ name: "nginx", about: `nginx reverse proxy over ${backends.length} backends`, ...proxy })
  }
  const reference = nginx === undefined ? "direct" : "nginx"
  const summaries = await measureRounds({
    settings,
    loader,
    targets,
    reference,
    watched: [...backends.map((backend) => backend.child), ...targets.map((target) => target.child)]
  })

  console.log("")
  console.log(formatSummaries(summaries, reference))

  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, "latest.json")
  const result = {
    date: new Date().toISOString(),
    host: { ...host, loadAverage: round2(host.loadAverage) },
    settings: {
      loader: loader.describe(settings.seconds),
      backends: `${backendCount} × ${backendKind}`,
      bodyBytes: responseBytes,
      ...settings,
      connections
    },
    reference,
    targets: summariesJson(summaries)
  }
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n")
  console.log(`written to ${file}`)
}

const h2 = process.argv.includes("--h2") || process.env["BENCH_H2"] === "1"
await runBench("bench", h2 ? runH2Bench : main)
