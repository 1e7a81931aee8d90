/**
 * `npm run soak`: whether Switchyard's memory stays bounded under hours of steady traffic, in
 * minutes. A benchmark script, not a test: it takes as long as it is told to.
 *
 * What runs, each in its own process: three `node:http` backends answering the soak's mix
 * (`soak-backend.ts`), `node dist/main.js serve` over them from a generated config (round robin,
 * health checks every 2 s, a journal, an access-log line per request to stdout, which is read and
 * discarded as a log collector would), and the load generator (`soak-load.ts`): a fixed rate of
 * small GETs, 64 KiB POSTs, 1 MiB downloads, downloads abandoned mid-response and 2 s long polls
 * (`soak-mix.ts`), open loop.
 *
 * Every few seconds it samples the proxy: RSS and its anonymous part (`/proc/<pid>/status`
 * VmRSS, RssAnon: the rest is file-backed, mostly the node binary's own pages), V8 heap used and
 * total, external and ArrayBuffer memory (the admin listener's `/metrics`), and open descriptors
 * (`/proc/<pid>/fd`). It prints a row per sample, then each series' slope per minute, fitted by
 * least squares over the second half of the load (the first half is warm-up: pools, JIT and
 * young generation growing to their working size), then the values once the load has stopped
 * and the proxy has been idle for a while. A bounded proxy shows slopes near 0 and idle values
 * near where it started.
 *
 * Settings, from the environment: SOAK_MINUTES of load (default 2), SOAK_RATE requests per second
 * (500), SOAK_SAMPLE_SECONDS between samples (5), SOAK_IDLE_SECONDS after the load (30),
 * SOAK_ACCESS_LOG=off for `logging.access: false`, SOAK_NODE_FLAGS for extra flags to the
 * proxy's node (e.g. `--max-semi-space-size=4`), to try a hypothesis on the proxy alone. The
 * environment passes through to every process, so `MALLOC_ARENA_MAX=2 npm run soak` works too.
 * The samples are also written to bench/results/soak/latest.json.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import { startNodeBackend } from "./backends.ts"
import type { Child } from "./children.ts"
import { runBench, spawnChild, stopChild } from "./children.ts"
import type { Server } from "./nginx.ts"
import { startSwitchyard } from "./switchyard.ts"

const soakBackendTs = new URL("./soak-backend.ts", import.meta.url).pathname
const soakLoadTs = new URL("./soak-load.ts", import.meta.url).pathname
const resultsDir = new URL("./results/soak/", import.meta.url).pathname

const backendCount = 3
const startTimeoutMs = 15_000
/** Samples taken before the load starts: the proxy's starting point. */
const baselineSamples = 3

const setting = (name: string, fallback: number): number => {
  const text = process.env[name]
  if (text === undefined || text === "") return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number above 0, got ${JSON.stringify(text)}`)
  }
  return value
}

/** One sample of the proxy. Memory in bytes; `at` in seconds since the load started. */
interface Sample {
  readonly at: number
  readonly phase: "before" | "load" | "idle"
  readonly rss: number
  readonly anon: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  readonly fds: number
  /** CPU time the proxy used since the previous sample, in % of one core. */
  readonly cpu: number
  /** Requests the load generator sent since the previous sample, per second. */
  readonly rps: number
  readonly errors: number
}

/** The load generator's running totals (one JSON line a second). */
interface Progress {
  readonly done: boolean
  readonly sent: number
  readonly ok: number
  readonly aborted: number
  readonly errors: number
  readonly skipped: number
  readonly inFlight: number
  readonly lastError: string
}

const noProgress: Progress = {
  done: false,
  sent: 0,
  ok: 0,
  aborted: 0,
  errors: 0,
  skipped: 0,
  inFlight: 0,
  lastError: ""
}

const isProgress = (value: unknown): value is Progress =>
  typeof value === "object" && value !== null && "sent" in value && typeof value.sent === "number"

/** The last complete progress line in the load generator's output. */
const lastProgress = (output: string): Progress => {
  const lines = output.trimEnd().split("\n")
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value: unknown = JSON.parse(lines[i] ?? "")
      if (isProgress(value)) return value
    } catch {
      // a line cut by the output limit: try the one before
    }
  }
  return noProgress
}

/** A `/proc/<pid>/status` field in bytes (`VmRSS:  159092 kB`). */
const statusField = (status: string, field: string): number => {
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))
  if (match?.[1] === undefined) throw new Error(`no ${field} in /proc status`)
  return Number(match[1]) * 1024
}

/** The value of an unlabelled Prometheus sample line. */
const gauge = (text: string, name: string): number => {
  const match = text.match(new RegExp(`^${name} (\\S+)$`, "m"))
  if (match?.[1] === undefined) throw new Error(`/metrics has no ${name}: is dist/ built from this tree?`)
  return Number(match[1])
}

const scrape = async (adminUrl: string): Promise<string> => {
  const response = await fetch(`${adminUrl}/metrics`)
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  return response.text()
}

/** Clock ticks per second of /proc/<pid>/stat's times: 100 on every Linux that matters. */
const ticksPerSecond = 100

/** User plus system CPU time of the process so far, in seconds. */
const cpuSeconds = (pid: number): number => {
  // Fields after the command name (which may hold spaces, hence after the last ")"): utime is
  // the 12th, stime the 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

const sampleProxy = async (
  pid: number,
  adminUrl: string,
  facts: Pick<Sample, "at" | "phase" | "rps" | "errors" | "cpu">
): Promise<Sample> => {
  const metrics = await scrape(adminUrl)
  // /proc after the scrape, so that the scrape's own garbage is in both or in neither.
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  return {
    ...facts,
    rss: statusField(status, "VmRSS"),
    anon: statusField(status, "RssAnon"),
    heapUsed: gauge(metrics, "nodejs_heap_size_used_bytes"),
    heapTotal: gauge(metrics, "nodejs_heap_size_total_bytes"),
    external: gauge(metrics, "nodejs_external_memory_bytes"),
    arrayBuffers: gauge(metrics, "nodejs_array_buffers_bytes"),
    fds: readdirSync(`/proc/${pid}/fd`).length
  }
}

/** Least-squares slope of `y` over `x`; 0 with fewer than two points. */
export const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  if (n < 2) return 0
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n
  let sxy = 0
  let sxx = 0
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY)
    sxx += (x - meanX) ** 2
  }
  return sxx === 0 ? 0 : sxy / sxx
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

const series: ReadonlyArray<
  {
    readonly name: string
    readonly unit: string
    readonly read: (s: Sample) => number
    readonly show: (n: number) => string
  }
> = [
  { name: "rss", unit: "MiB", read: (s) => s.rss, show: mib },
  { name: "anon", unit: "MiB", read: (s) => s.anon, show: mib },
  { name: "heapUsed", unit: "MiB", read: (s) => s.heapUsed, show: mib },
  { name: "heapTotal", unit: "MiB", read: (s) => s.heapTotal, show: mib },
  { name: "external", unit: "MiB", read: (s) => s.external, show: mib },
  { name: "arrayBuffers", unit: "MiB", read: (s) => s.arrayBuffers, show: mib },
  { name: "fds", unit: "", read: (s) => s.fds, show: (n) => n.toFixed(0) }
]

const header = [
  "t s",
  "phase",
  "req/s",
  ...series.map((s) => s.unit === "" ? s.name : `${s.name} ${s.unit}`),
  "cpu %",
  "errors"
]
const widths = header.map((cell) => Math.max(cell.length, 7))
const row = (cells: ReadonlyArray<string>): string =>
  cells.map((cell, column) => column === 1 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))
    .join("  ")

const formatSample = (s: Sample): string =>
  row([
    s.at.toFixed(0),
    s.phase,
    s.rps.toFixed(0),
    ...series.map((x) => x.show(x.read(s))),
    s.cpu.toFixed(0),
    String(s.errors)
  ])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const startProxy = async (backends: ReadonlyArray<Server>, accessLog: boolean, flags: ReadonlyArray<string>) => {
  const { adminUrl, child, url } = await startSwitchyard({
    name: "switchyard",
    backendPorts: backends.map((backend) => backend.port),
    accessLog,
    config: (
      dir
    ) => ["healthCheck: { path: /health, interval: 2s, timeout: 1s }", `journal: ${join(dir, "events.jsonl")}`],
    nodeFlags: flags,
    timeoutMs: startTimeoutMs
  })
  const pid = child.process.pid
  if (pid === undefined) throw new Error("switchyard has no pid")
  return { child, pid, url, adminUrl }
}

const main = async (): Promise<void> => {
  const minutes = setting("SOAK_MINUTES", 2)
  const rate = setting("SOAK_RATE", 500)
  const sampleSeconds = setting("SOAK_SAMPLE_SECONDS", 5)
  const idleSeconds = setting("SOAK_IDLE_SECONDS", 30)
  const accessLog = process.env["SOAK_ACCESS_LOG"] !== "off"
  const flags = (process.env["SOAK_NODE_FLAGS"] ?? "").split(/\s+/).filter((flag) => flag !== "")
  if (process.platform !== "linux") throw new Error("the soak reads /proc: it runs on Linux only")

  const cores = cpus()
  console.log(
    `Switchyard soak: ${rate} req/s for ${minutes} min, a sample every ${sampleSeconds} s, ${idleSeconds} s idle after`
  )
  console.log(
    "mix per 20 requests: 13 small GETs, 3 POSTs of 64 KiB, 1 download of 1 MiB, 1 abandoned mid-body, 2 long polls of 2 s"
  )
  console.log(
    `proxy: access log ${accessLog ? "on" : "off"}${flags.length > 0 ? `, node ${flags.join(" ")}` : ""}` +
      ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"].filter((name) => process.env[name] !== undefined)
        .map((name) => `, ${name}=${process.env[name]}`).join("")
  )
  console.log(
    `host: ${cores.length} × ${cores[0]?.model ?? "unknown"}, Node ${process.version}, load average ${
      (loadavg()[0] ?? 0).toFixed(2)
    }`
  )

  const backends = await Promise.all(
    Array.from({ length: backendCount }, (_, index) => startNodeBackend(`backend-${index + 1}`, soakBackendTs))
  )
  const proxy = await startProxy(backends, accessLog, flags)
  const everyone: ReadonlyArray<Child> = [...backends.map((backend) => backend.child), proxy.child]
  const samples: Array<Sample> = []
  let cpuMark = { at: performance.now(), seconds: cpuSeconds(proxy.pid) }
  const take = async (facts: Pick<Sample, "at" | "phase" | "rps" | "errors">) => {
    const dead = everyone.find((child) => !child.isRunning())
    if (dead !== undefined) {
      throw new Error(`${dead.name} ended during the soak (${await dead.exited}):\n${dead.output()}`)
    }
    const mark = { at: performance.now(), seconds: cpuSeconds(proxy.pid) }
    const cpu = (100 * (mark.seconds - cpuMark.seconds)) / ((mark.at - cpuMark.at) / 1000)
    cpuMark = mark
    const sample = await sampleProxy(proxy.pid, proxy.adminUrl, { ...facts, cpu })
    samples.push(sample)
    console.log(formatSample(sample))
  }

  console.log("")
  console.log(row(header))
  for (let i = 0; i < baselineSamples; i++) {
    await take({ at: (i - baselineSamples) * sampleSeconds, phase: "before", rps: 0, errors: 0 })
    await sleep(sampleSeconds * 1000)
  }

  const loadSeconds = Math.round(minutes * 60)
  const load = spawnChild("soak-load", process.execPath, [soakLoadTs, proxy.url, String(rate), String(loadSeconds)])
  const started = performance.now()
  const elapsed = () => (performance.now() - started) / 1000
  let last = { at: 0, sent: 0 }
  let progress = noProgress
  const next = () => {
    progress = lastProgress(load.stdout())
    const at = elapsed()
    const rps = at > last.at ? (progress.sent - last.sent) / (at - last.at) : 0
    last = { at, sent: progress.sent }
    return { at, rps, errors: progress.errors }
  }
  while (load.isRunning()) {
    await sleep(Math.max(0, (samples.length - baselineSamples + 1) * sampleSeconds - elapsed()) * 1000)
    if (!load.isRunning()) break
    await take({ phase: "load", ...next() })
  }
  const how = await load.exited
  if (how !== "exit 0") throw new Error(`the load generator ${how}:\n${load.output()}`)
  progress = lastProgress(load.stdout())
  const loadEnd = elapsed()
  while (elapsed() - loadEnd < idleSeconds) {
    await sleep(sampleSeconds * 1000)
    await take({ at: elapsed(), phase: "idle", rps: 0, errors: progress.errors })
  }

  const during = samples.filter((s) => s.phase === "load")
  const secondHalf = during.filter((s) => s.at >= loadSeconds / 2)
  const before = samples.findLast((s) => s.phase === "before")
  const idle = samples.at(-1)
  if (before === undefined || idle === undefined) throw new Error("no samples")
  const peak = (read: (s: Sample) => number) => Math.max(...samples.map(read))

  console.log("")
  console.log(
    `load: ${progress.sent} requests sent (${
      (progress.sent / loadSeconds).toFixed(0)
    } req/s), ${progress.ok} answered in full,` +
      ` ${progress.aborted} abandoned by the client on purpose, ${progress.errors} errors, ${progress.skipped} skipped` +
      (progress.lastError === "" ? "" : ` (last error: ${progress.lastError})`)
  )
  const meanCpu = during.reduce((sum, s) => sum + s.cpu, 0) / Math.max(1, during.length)
  console.log(`proxy CPU under load: ${meanCpu.toFixed(0)}% of one core on average`)
  const summary = [
    [
      "series",
      "before",
      "peak",
      "idle",
      `slope/min (${secondHalf.length} samples, t ≥ ${(loadSeconds / 2).toFixed(0)} s)`
    ],
    ...series.map((x) => [
      x.unit === "" ? x.name : `${x.name} ${x.unit}`,
      x.show(x.read(before)),
      x.show(peak(x.read)),
      x.show(x.read(idle)),
      (slope(secondHalf.map((s) => [s.at / 60, x.read(s)])) >= 0 ? "+" : "") +
      x.show(slope(secondHalf.map((s) => [s.at / 60, x.read(s)])))
    ])
  ]
  const summaryWidths = summary[0]?.map((_, column) => Math.max(...summary.map((r) => (r[column] ?? "").length))) ?? []
  for (const cells of summary) {
    console.log(
      cells.map((cell, column) =>
        column === 0 ? cell.padEnd(summaryWidths[column] ?? 0) : cell.padStart(summaryWidths[column] ?? 0)
      ).join("  ")
    )
  }
  console.log(`(idle: ${(idle.at - loadEnd).toFixed(0)} s after the load stopped)`)

  await stopChild(proxy.child)
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, "latest.json")
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        settings: { minutes, rate, sampleSeconds, idleSeconds, accessLog, flags },
        load: progress,
        samples
      },
      null,
      2
    ) + "\n"
  )
  console.log(`written to ${file}`)
}

await runBench("soak", main)
