/**
 * `npm run bench:tail`: Switchyard's latency tail next to nginx's at the same fixed offered rate,
 * with what the proxy's own `/metrics` says happened meanwhile: event-loop stalls and GC pauses.
 *
 * What runs, each in its own process: three nginx backends (or `node:http` ones without nginx,
 * `backends.ts`), nginx as a reverse proxy over them (`nginx.ts`), and `switchyard serve` over
 * them with its defaults but the access log off. The load is open-loop (`open-loop.ts`) from this
 * process, which does nothing else while a run lasts: `TAIL_RATE` requests per second whatever
 * the target does, a rate both proxies sustain, so the tail is the proxy's and not a queue's.
 *
 * Each round runs every target once (warm-up, then the measured run) in an order rotated per
 * round; each column is the median over the rounds, the stall and GC counts their sum.
 *
 * Columns: p50/p99/p99.9/max latency in ms; p99 ÷ nginx; CPU µs per request (user + system of the
 * target's process tree over the measured run ÷ requests answered); for Switchyard, from
 * `/metrics` scraped before and after each measured run: event-loop delays over 20 ms
 * (`lb_event_loop_delay_seconds`), the bucket the largest delay fell in, GC pauses by kind
 * (`lb_gc_pause_seconds`: count and total ms), and the resident memory after the run.
 *
 * Settings, from the environment: TAIL_RATE (default 3000 req/s), TAIL_SECONDS per measured run
 * (10), TAIL_WARMUP_SECONDS (3), TAIL_ROUNDS (3), TAIL_CONNECTIONS, the most sockets the load may
 * open (64); TAIL_SEMI_SPACE=16,8,4 runs one Switchyard per young-generation size (MiB per
 * semi-space) instead of the default one, to choose it by measurement; TAIL_ACCESS_LOG=on adds the
 * defaults with the access log on; BENCH_NGINX=off as for `npm run bench`. Results also go to
 * bench/results/tail.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { eventLoopDelayBoundaries } from "../src/domain/metrics/Histogram.ts"
import { startBackends } from "./backends.ts"
import type { Child } from "./children.ts"
import { runBench } from "./children.ts"
import { treeCpuMicros } from "./cpu.ts"
import { getOnce } from "./http.ts"
import type { Server } from "./nginx.ts"
import { findNginx, startNginxProxy } from "./nginx.ts"
import { quantile, runOpenLoop } from "./open-loop.ts"
import { startSwitchyard, switchyardMainJs, wholeNumberSetting } from "./switchyard.ts"

const resultsDir = new URL("./results/", import.meta.url).pathname
const startTimeoutMs = 15_000
const pauseBetweenRunsMs = 500

const setting = (name: string, fallback: number): number => wholeNumberSetting(name, fallback, 1)

interface Target {
  readonly name: string
  readonly url: string
  readonly child: Child
  /** Switchyard's admin origin, for `/metrics`; nginx has none. */
  readonly adminUrl?: string
}

const startTarget = async (
  backends: ReadonlyArray<Server>,
  variant: { readonly name: string; readonly nodeFlags: ReadonlyArray<string>; readonly accessLog: boolean }
): Promise<Target> => {
  // A young-generation flag given to node is kept by main.ts's relaunch (a user's setting wins).
  const { adminUrl, child, url } = await startSwitchyard({
    name: variant.name,
    backendPorts: backends.map((backend) => backend.port),
    accessLog: variant.accessLog,
    nodeFlags: variant.nodeFlags,
    timeoutMs: startTimeoutMs
  })
  return { name: variant.name, url, child, adminUrl }
}

/** Every sample line of a Prometheus text, by its series (name and labels, as written). */
const parseSeries = (text: string): ReadonlyMap<string, number> =>
  new Map(
    text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
      const at = line.lastIndexOf(" ")
      return [line.slice(0, at), Number(line.slice(at + 1))] as const
    })
  )

const scrape = async (target: Target): Promise<ReadonlyMap<string, number> | undefined> => {
  if (target.adminUrl === undefined) return undefined
  const answer = await getOnce(`${target.adminUrl}/metrics`)
  if (typeof answer === "string") throw new Error(`${target.name}: /metrics: ${answer}\n${target.child.output()}`)
  return parseSeries(answer.body)
}

const gcKinds = ["minor", "major", "incremental", "weakcb"] as const

/** What the proxy's own metrics say of one measured run: the difference of two scrapes. */
interface Pauses {
  readonly stallsOver20ms: number
  /** The lowest boundary (ms) at or below which every delay of the run fell; Infinity past the last. */
  readonly maxDelayAtMostMs: number
  readonly gc: Readonly<Record<(typeof gcKinds)[number], { readonly count: number; readonly totalMs: number }>>
  readonly rssMiB: number
}

const pausesBetween = (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Pauses => {
  const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0)
  const delays = delta("lb_event_loop_delay_seconds_count")
  const bucket = (le: number) => delta(`lb_event_loop_delay_seconds_bucket{le="${le}"}`)
  const covering = eventLoopDelayBoundaries.find((le) => bucket(le) === delays)
  const gc = Object.fromEntries(gcKinds.map((kind) => [kind, {
    count: delta(`lb_gc_pause_seconds_count{kind="${kind}"}`),
    totalMs: delta(`lb_gc_pause_seconds_sum{kind="${kind}"}`) * 1000
  }])) as Pauses["gc"]
  return {
    stallsOver20ms: delays - bucket(0.02),
    maxDelayAtMostMs: covering === undefined ? Number.POSITIVE_INFINITY : covering * 1000,
    gc,
    rssMiB: (after.get("process_resident_memory_bytes") ?? 0) / 1048576
  }
}

/** Resident memory of a process from /proc, in MiB; 0 off Linux or once it is gone. */
const rssOf = (child: Child): number => {
  try {
    const status = readFileSync(`/proc/${child.process.pid}/status`, "utf8")
    return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? "0") / 1024
  } catch {
    return 0
  }
}

interface Run {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly achievedRate: number
  readonly errors: number
  readonly cpuUsPerRequest: number
  readonly pauses?: Pauses
}

const measure = async (target: Target, rate: number, seconds: number, connections: number): Promise<Run> => {
  const before = await scrape(target)
  const cpuBefore = treeCpuMicros(target.child.process.pid)
  const began = performance.now()
  const result = await runOpenLoop(target.url, { rate, seconds, connections })
  const elapsed = (performance.now() - began) / 1000
  const cpuAfter = treeCpuMicros(target.child.process.pid)
  const after = await scrape(target)
  const sorted = result.latenciesMs
  return {
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    p999Ms: quantile(sorted, 0.999),
    maxMs: sorted.at(-1) ?? Number.NaN,
    achievedRate: result.answered / elapsed,
    errors: result.errors,
    cpuUsPerRequest: cpuBefore === undefined || cpuAfter === undefined
      ? Number.NaN
      : (cpuAfter - cpuBefore) / Math.max(1, result.answered),
    ...(before === undefined || after === undefined ? {} : { pauses: pausesBetween(before, after) })
  }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] ?? Number.NaN
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2
}

const sum = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a + b, 0)

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? []
  return rows.map((row) =>
    row.map((cell, column) => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))
      .join("  ")
  ).join("\n")
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const main = async (): Promise<void> => {
  const rate = setting("TAIL_RATE", 3000)
  const seconds = setting("TAIL_SECONDS", 10)
  const warmupSeconds = setting("TAIL_WARMUP_SECONDS", 3)
  const rounds = setting("TAIL_ROUNDS", 3)
  const connections = setting("TAIL_CONNECTIONS", 64)
  const semiSpaces = (process.env["TAIL_SEMI_SPACE"] ?? "").split(",").filter((s) => s !== "").map(Number)
  if (semiSpaces.some((mib) => !Number.isInteger(mib) || mib < 1)) {
    throw new Error(`TAIL_SEMI_SPACE must list whole MiB sizes, got ${process.env["TAIL_SEMI_SPACE"]}`)
  }
  if (!existsSync(switchyardMainJs)) throw new Error(`${switchyardMainJs} is missing: run \`npm run build\` first`)
  const nginx = process.env["BENCH_NGINX"] === "off" ? undefined : findNginx()
  console.log(
    `Switchyard tail bench: open loop at ${rate} req/s, up to ${connections} connections, ${rounds} rounds of ` +
      `${seconds}s after ${warmupSeconds}s warm-up; load average ${(loadavg()[0] ?? 0).toFixed(2)}`
  )

  const backends = await startBackends(nginx, 3)
  const variants = [
    ...(semiSpaces.length === 0
      ? [{ name: "switchyard", nodeFlags: [], accessLog: false }]
      : semiSpaces.map((mib) => ({
        name: `switchyard-semi${mib}`,
        nodeFlags: [`--max-semi-space-size=${mib}`],
        accessLog: false
      }))),
    ...(process.env["TAIL_ACCESS_LOG"] === "on" ? [{ name: "switchyard-log", nodeFlags: [], accessLog: true }] : [])
  ]
  const targets: Array<Target> = []
  for (const variant of variants) targets.push(await startTarget(backends, variant))
  // Memory once started and before any load: the figure the idle-RSS target is about.
  const idleRss = new Map(targets.map((target) => [target.name, rssOf(target.child)]))
  if (nginx !== undefined) {
    const proxy = await startNginxProxy(nginx, backends.map((backend) => backend.port))
    targets.push({ name: "nginx", url: proxy.url, child: proxy.child })
  }

  const runs = new Map<string, Array<Run>>(targets.map((target) => [target.name, []]))
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]).filter((t) => t !== undefined)
    for (const target of order) {
      await runOpenLoop(target.url, { rate, seconds: warmupSeconds, connections })
      await sleep(pauseBetweenRunsMs)
      const run = await measure(target, rate, seconds, connections)
      runs.get(target.name)?.push(run)
      console.log(
        `  round ${round + 1} ${target.name}: p99 ${run.p99Ms.toFixed(2)} ms, p99.9 ${run.p999Ms.toFixed(2)} ms, ` +
          `${run.achievedRate.toFixed(0)} req/s answered, ${run.errors} errors`
      )
      await sleep(pauseBetweenRunsMs)
    }
  }

  const nginxP99 = median((runs.get("nginx") ?? []).map((run) => run.p99Ms))
  const summary = targets.map((target) => {
    const own = runs.get(target.name) ?? []
    const pauses = own.flatMap((run) => run.pauses === undefined ? [] : [run.pauses])
    return {
      name: target.name,
      p50Ms: median(own.map((run) => run.p50Ms)),
      p99Ms: median(own.map((run) => run.p99Ms)),
      p999Ms: median(own.map((run) => run.p999Ms)),
      maxMs: Math.max(...own.map((run) => run.maxMs)),
      p99Ratio: median(own.map((run) => run.p99Ms)) / nginxP99,
      cpuUsPerRequest: median(own.map((run) => run.cpuUsPerRequest)),
      errors: sum(own.map((run) => run.errors)),
      ...(pauses.length === 0 ? {} : {
        stallsOver20ms: sum(pauses.map((p) => p.stallsOver20ms)),
        maxDelayAtMostMs: Math.max(...pauses.map((p) => p.maxDelayAtMostMs)),
        gc: Object.fromEntries(gcKinds.map((kind) => [kind, {
          count: sum(pauses.map((p) => p.gc[kind].count)),
          totalMs: sum(pauses.map((p) => p.gc[kind].totalMs))
        }])),
        idleRssMiB: idleRss.get(target.name) ?? Number.NaN,
        rssAfterMiB: Math.max(...pauses.map((p) => p.rssMiB))
      }),
      runs: own
    }
  })

  const ms = (value: number) => value.toFixed(2)
  const rows = [
    [
      "target",
      "p50",
      "p99",
      "p99.9",
      "max ms",
      "p99 ÷ nginx",
      "CPU µs/req",
      "stalls>20ms",
      "max delay ≤",
      "GC minor n/ms",
      "GC major n/ms",
      "RSS idle→after MiB"
    ],
    ...summary.map((row) => [
      row.name,
      ms(row.p50Ms),
      ms(row.p99Ms),
      ms(row.p999Ms),
      ms(row.maxMs),
      Number.isNaN(row.p99Ratio) ? "-" : `${row.p99Ratio.toFixed(2)}x`,
      row.cpuUsPerRequest.toFixed(1),
      row.stallsOver20ms === undefined ? "-" : String(row.stallsOver20ms),
      row.maxDelayAtMostMs === undefined ? "-" : `${row.maxDelayAtMostMs} ms`,
      row.gc === undefined ? "-" : `${row.gc["minor"]?.count ?? 0}/${(row.gc["minor"]?.totalMs ?? 0).toFixed(0)}`,
      row.gc === undefined ? "-" : `${row.gc["major"]?.count ?? 0}/${(row.gc["major"]?.totalMs ?? 0).toFixed(0)}`,
      row.idleRssMiB === undefined || row.rssAfterMiB === undefined
        ? "-"
        : `${row.idleRssMiB.toFixed(0)}→${row.rssAfterMiB.toFixed(0)}`
    ])
  ]
  console.log(`\n${table(rows)}\n`)
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(
    join(resultsDir, "tail.json"),
    JSON.stringify({ rate, seconds, warmupSeconds, rounds, connections, summary }, null, 2) + "\n"
  )
}

await runBench("tail bench", main)
