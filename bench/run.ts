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
 * nginx were not installed, BENCH_BASELINE=/path/to/other/dist/main.js to run another build beside
 * this one (`baseline-quiet`, access log off) for an A/B in the same minutes, BENCH_WORKERS=N (or
`--workers N`) to add `switchyard-workers-N`: the defaults with `workers: N`, a supervisor and N
worker processes, whose CPU is counted with the supervisor's (the process tree).
 *
 * CPU per request is the CPU (user + system) the target's processes spent during the measured run
 * divided by the requests answered: the figure that barely moves on a shared machine, where req/s
 * swings 2× between runs. The backends' CPU is not in it (except for `direct`, which is a backend). The defaults take just over a minute. The results are also written to
 * bench/results/latest.json.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import { startBackends } from "./backends.ts"
import type { Child } from "./children.ts"
import { findExecutable, runBench } from "./children.ts"
import { treeCpuMicros } from "./cpu.ts"
import { responseBytes } from "./fixture.ts"
import type { Loader, Sample } from "./load.ts"
import { autocannonLoader, wrkLoader } from "./load.ts"
import type { Server } from "./nginx.ts"
import { findNginx, startNginxProxy } from "./nginx.ts"
import { startSwitchyard, switchyardMainJs, wholeNumberSetting } from "./switchyard.ts"

const resultsDir = new URL("./results/", import.meta.url).pathname

const backendCount = 3
const startTimeoutMs = 15_000
/** How many times longer than the others a target's first warm-up is. */
const firstWarmupFactor = 3
/** Lets sockets of the last run close before the next begins. */
const pauseBetweenRunsMs = 250

const setting = (name: string, fallback: number): number => wholeNumberSetting(name, fallback, 0)

interface Target {
  readonly name: string
  readonly about: string
  readonly url: string
  readonly child: Child
}

/** A run, with the CPU the target's processes spent on it. */
interface Measured extends Sample {
  /** CPU µs (user + system, the target's process tree) per request answered; NaN off Linux. */
  readonly cpuUsPerRequest: number
}

interface Summary {
  readonly name: string
  readonly about: string
  readonly cpuUsPerRequest: number
  readonly cpuRatio: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly rpsRatio: number
  readonly p99Ratio: number
  readonly errors: number
  readonly rounds: ReadonlyArray<Measured>
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] ?? Number.NaN
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2
}

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

/** Names the process that ended (before a load run, which would only say "connection refused"). */
const failIfOneEnded = async (children: ReadonlyArray<Child>): Promise<void> => {
  const dead = children.find((child) => !child.isRunning())
  if (dead !== undefined) throw new Error(`${dead.name} ended (${await dead.exited}):\n${dead.output()}`)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const formatRps = (rps: number): string => Math.round(rps).toLocaleString("en-US")
const formatMs = (ms: number): string => ms.toFixed(2)
const formatRatio = (ratio: number): string => `${ratio.toFixed(2)}x`

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? []
  const align = (cell: string, column: number) =>
    column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)
  return rows.map((row) => row.map(align).join("  ")).join("\n")
}

const main = async (): Promise<void> => {
  const seconds = setting("BENCH_SECONDS", 5)
  const warmupSeconds = setting("BENCH_WARMUP_SECONDS", 1)
  const rounds = setting("BENCH_ROUNDS", 3)
  const connections = setting("BENCH_CONNECTIONS", 50)
  if (seconds < 1 || rounds < 1 || connections < 1) {
    throw new Error("BENCH_SECONDS, BENCH_ROUNDS and BENCH_CONNECTIONS must be at least 1")
  }
  if (!existsSync(switchyardMainJs)) {
    throw new Error(`${switchyardMainJs} is missing: run \`npm run build\` first`)
  }

  const nginx = process.env["BENCH_NGINX"] === "off" ? undefined : findNginx()
  // Another build's dist/main.js, run beside this one (access log off) for an A/B in the same minutes.
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
  const cores = cpus()
  const host = {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? "unknown",
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg()[0] ?? 0
  }
  const backendKind = nginx === undefined ? "node:http (nginx not found)" : "nginx, 1 worker each"
  console.log(
    `Switchyard bench: ${loader.describe(seconds)}, ${rounds} rounds, ${warmupSeconds}s warm-up per run` +
      ` (${firstWarmupFactor * warmupSeconds}s before a target's first)`
  )
  console.log(`backends: ${backendCount} × ${backendKind}, ${responseBytes}-byte body`)
  console.log(
    `host: ${host.cpus} × ${host.cpuModel}, Node ${host.node}, load average ${host.loadAverage.toFixed(2)}`
  )

  const backends = await startBackends(nginx, backendCount)
  const first = backends[0]
  if (first === undefined) throw new Error("no backend started")
  const targets: Array<Target> = [
    await startTarget(backends, { accessLog: true }),
    await startTarget(backends, { accessLog: false }),
    ...(workers === undefined ? [] : [await startTarget(backends, { accessLog: true, workers })]),
    ...(baseline === undefined
      ? []
      : [await startTarget(backends, { accessLog: false, build: { name: "baseline-quiet", mainJs: baseline } })]),
    { name: "direct", about: `${first.child.name} alone, no proxy`, url: first.url, child: first.child }
  ]
  if (nginx !== undefined) {
    const proxy = await startNginxProxy(nginx, backends.map((backend) => backend.port))
    targets.push({ name: "nginx", about: `nginx reverse proxy over ${backends.length} backends`, ...proxy })
  }
  const everyone = [...backends.map((backend) => backend.child), ...targets.map((target) => target.child)]

  const samples = new Map<string, Array<Measured>>(targets.map((target) => [target.name, []]))
  for (let round = 0; round < rounds; round++) {
    const shift = round % targets.length
    for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      // A target's first warm-up is longer: JIT and connection pools settle there, not in round 1.
      const warmup = round === 0 ? firstWarmupFactor * warmupSeconds : warmupSeconds
      await failIfOneEnded(everyone)
      if (warmup > 0) await loader.run(target.url, warmup)
      await sleep(pauseBetweenRunsMs)
      const cpuBefore = treeCpuMicros(target.child.process.pid)
      const run = await loader.run(target.url, seconds)
      const cpuAfter = treeCpuMicros(target.child.process.pid)
      const sample: Measured = {
        ...run,
        cpuUsPerRequest: cpuBefore === undefined || cpuAfter === undefined || run.requests === 0
          ? Number.NaN
          : (cpuAfter - cpuBefore) / run.requests
      }
      await sleep(pauseBetweenRunsMs)
      await failIfOneEnded(everyone)
      samples.get(target.name)?.push(sample)
      process.stderr.write(
        `round ${round + 1}/${rounds}  ${target.name.padEnd(10)} ${formatRps(sample.rps).padStart(7)} req/s` +
          `  p50 ${formatMs(sample.p50Ms)} ms  p99 ${formatMs(sample.p99Ms)} ms` +
          `  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/req` +
          (sample.errors > 0 ? `  ${sample.errors} errors` : "") + "\n"
      )
    }
  }

  const summarise = (target: Target) => {
    const runs = samples.get(target.name) ?? []
    return {
      cpuUsPerRequest: median(runs.map((run) => run.cpuUsPerRequest)),
      rps: median(runs.map((run) => run.rps)),
      p50Ms: median(runs.map((run) => run.p50Ms)),
      p99Ms: median(runs.map((run) => run.p99Ms)),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
      runs
    }
  }
  const reference = targets.find((target) => target.name === "nginx") ??
    targets.find((target) => target.name === "direct")
  if (reference === undefined) throw new Error("no targets")
  const base = summarise(reference)
  const summaries: Array<Summary> = targets.map((target) => {
    const { cpuUsPerRequest, errors, p50Ms, p99Ms, rps, runs } = summarise(target)
    return {
      name: target.name,
      about: target.about,
      cpuUsPerRequest,
      cpuRatio: cpuUsPerRequest / base.cpuUsPerRequest,
      rps,
      p50Ms,
      p99Ms,
      rpsRatio: rps / base.rps,
      p99Ratio: p99Ms / base.p99Ms,
      errors,
      rounds: runs
    }
  })

  console.log("")
  console.log(
    table([
      [
        "target",
        "CPU µs/req",
        `CPU ÷ ${reference.name}`,
        "req/s",
        "p50 ms",
        "p99 ms",
        `req/s ÷ ${reference.name}`,
        `p99 ÷ ${reference.name}`,
        "errors"
      ],
      ...summaries.map((summary) => [
        summary.name,
        summary.cpuUsPerRequest.toFixed(1),
        formatRatio(summary.cpuRatio),
        formatRps(summary.rps),
        formatMs(summary.p50Ms),
        formatMs(summary.p99Ms),
        formatRatio(summary.rpsRatio),
        formatRatio(summary.p99Ratio),
        String(summary.errors)
      ])
    ])
  )
  const perRound = summaries.map((summary) =>
    `${summary.name} ${summary.rounds.map((run) => formatRps(run.rps)).join(" / ")}`
  )
  console.log(`(medians of ${rounds} rounds; req/s per round: ${perRound.join("; ")})`)

  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, "latest.json")
  const round2 = (value: number) => Math.round(value * 100) / 100
  const result = {
    date: new Date().toISOString(),
    host: { ...host, loadAverage: round2(host.loadAverage) },
    settings: {
      loader: loader.describe(seconds),
      backends: `${backendCount} × ${backendKind}`,
      bodyBytes: responseBytes,
      seconds,
      warmupSeconds,
      rounds,
      connections
    },
    reference: reference.name,
    targets: summaries.map((summary) => ({
      name: summary.name,
      about: summary.about,
      cpuUsPerRequest: round2(summary.cpuUsPerRequest),
      cpuRatio: round2(summary.cpuRatio),
      rps: Math.round(summary.rps),
      p50Ms: round2(summary.p50Ms),
      p99Ms: round2(summary.p99Ms),
      rpsRatio: round2(summary.rpsRatio),
      p99Ratio: round2(summary.p99Ratio),
      errors: summary.errors,
      rounds: summary.rounds.map((run) => ({
        cpuUsPerRequest: round2(run.cpuUsPerRequest),
        rps: Math.round(run.rps),
        p50Ms: round2(run.p50Ms),
        p99Ms: round2(run.p99Ms),
        errors: run.errors
      }))
    }))
  }
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n")
  console.log(`written to ${file}`)
}

await runBench("bench", main)
