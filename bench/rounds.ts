/**
 * How the comparison benches measure (`run.ts` over HTTP/1.1, `h2.ts` over HTTP/2 and gRPC): each
 * of the rounds runs every target once, after a short warm-up (three times as long before a
 * target's first run), in an order rotated per round so that no target is always first; each
 * figure of the summary is the median over the rounds, set beside one reference target's.
 *
 * CPU per request is the CPU (user + system) the target's process tree spent during the measured
 * run divided by the requests answered: the figure that barely moves on a shared machine, where
 * req/s swings 2× between runs.
 */
import { cpus, loadavg } from "node:os"
import type { Child } from "./children.ts"
import { treeCpuMicros } from "./cpu.ts"
import type { Loader, Sample } from "./load.ts"
import { wholeNumberSetting } from "./switchyard.ts"

/** How many times longer than the others a target's first warm-up is. */
export const firstWarmupFactor = 3
/** Lets sockets of the last run close before the next begins. */
const pauseBetweenRunsMs = 250

export interface Target {
  readonly name: string
  readonly about: string
  /** What the loader is pointed at. */
  readonly url: string
  /** Whose process tree's CPU is counted. */
  readonly child: Child
}

/** A run, with the CPU the target's processes spent on it. */
export interface Measured extends Sample {
  /** CPU µs (user + system, the target's process tree) per request answered; NaN off Linux. */
  readonly cpuUsPerRequest: number
}

export interface Summary {
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

export interface RoundSettings {
  readonly seconds: number
  readonly warmupSeconds: number
  readonly rounds: number
}

/** BENCH_SECONDS per measured run (default 5), BENCH_WARMUP_SECONDS before each (1), BENCH_ROUNDS (3). */
export const roundSettings = (): RoundSettings => {
  const settings = {
    seconds: wholeNumberSetting("BENCH_SECONDS", 5, 0),
    warmupSeconds: wholeNumberSetting("BENCH_WARMUP_SECONDS", 1, 0),
    rounds: wholeNumberSetting("BENCH_ROUNDS", 3, 0)
  }
  if (settings.seconds < 1 || settings.rounds < 1) throw new Error("BENCH_SECONDS and BENCH_ROUNDS must be at least 1")
  return settings
}

export const describeRounds = (settings: RoundSettings): string =>
  `${settings.rounds} rounds, ${settings.warmupSeconds}s warm-up per run` +
  ` (${firstWarmupFactor * settings.warmupSeconds}s before a target's first)`

/** The machine, with its load average at the start: a run on a busy machine is to be distrusted. */
export const hostFacts = () => {
  const cores = cpus()
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? "unknown",
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg()[0] ?? 0
  }
}

export const describeHost = (host: ReturnType<typeof hostFacts>): string =>
  `host: ${host.cpus} × ${host.cpuModel}, Node ${host.node}, load average ${host.loadAverage.toFixed(2)}`

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] ?? Number.NaN
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2
}

/** Names the process that ended (before a load run, which would only say "connection refused"). */
const failIfOneEnded = async (children: ReadonlyArray<Child>): Promise<void> => {
  const dead = children.find((child) => !child.isRunning())
  if (dead !== undefined) throw new Error(`${dead.name} ended (${await dead.exited}):\n${dead.output()}`)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const formatRps = (rps: number): string => Math.round(rps).toLocaleString("en-US")
export const formatMs = (ms: number): string => ms.toFixed(2)
const formatRatio = (ratio: number): string => `${ratio.toFixed(2)}x`

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? []
  const align = (cell: string, column: number) =>
    column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)
  return rows.map((row) => row.map(align).join("  ")).join("\n")
}

/**
 * Runs every target in `targets` once per round with `loader`, and summarises each as its medians
 * with ratios to `reference`'s. Fails, naming it, as soon as one of `watched` (the targets and
 * whatever they stand on) has ended. Prints a line per run to stderr.
 */
export const measureRounds = async (options: {
  readonly settings: RoundSettings
  readonly loader: Loader
  readonly targets: ReadonlyArray<Target>
  readonly reference: string
  readonly watched: ReadonlyArray<Child>
  /** What one request is called in the per-run lines ("req", "call"). */
  readonly unit?: string
}): Promise<Array<Summary>> => {
  const { loader, settings, targets, watched } = options
  const unit = options.unit ?? "req"
  const samples = new Map<string, Array<Measured>>(targets.map((target) => [target.name, []]))
  for (let round = 0; round < settings.rounds; round++) {
    const shift = round % targets.length
    for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      // A target's first warm-up is longer: JIT and connection pools settle there, not in round 1.
      const warmup = round === 0 ? firstWarmupFactor * settings.warmupSeconds : settings.warmupSeconds
      await failIfOneEnded(watched)
      if (warmup > 0) await loader.run(target.url, warmup)
      await sleep(pauseBetweenRunsMs)
      const cpuBefore = treeCpuMicros(target.child.process.pid)
      const run = await loader.run(target.url, settings.seconds)
      const cpuAfter = treeCpuMicros(target.child.process.pid)
      const sample: Measured = {
        ...run,
        cpuUsPerRequest: cpuBefore === undefined || cpuAfter === undefined || run.requests === 0
          ? Number.NaN
          : (cpuAfter - cpuBefore) / run.requests
      }
      await sleep(pauseBetweenRunsMs)
      await failIfOneEnded(watched)
      samples.get(target.name)?.push(sample)
      process.stderr.write(
        `round ${round + 1}/${settings.rounds}  ${target.name.padEnd(10)} ${formatRps(sample.rps).padStart(7)}` +
          ` ${unit}/s  p50 ${formatMs(sample.p50Ms)} ms  p99 ${formatMs(sample.p99Ms)} ms` +
          `  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/${unit}` +
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
  const reference = targets.find((target) => target.name === options.reference)
  if (reference === undefined) throw new Error(`no target named ${options.reference}`)
  const base = summarise(reference)
  return targets.map((target) => {
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
}

/** The summary as a table of medians, then each target's req/s per round. */
export const formatSummaries = (
  summaries: ReadonlyArray<Summary>,
  reference: string,
  unit: string = "req"
): string => {
  const rounds = Math.max(...summaries.map((summary) => summary.rounds.length))
  const perRound = summaries.map((summary) =>
    `${summary.name} ${summary.rounds.map((run) => formatRps(run.rps)).join(" / ")}`
  )
  return table([
    [
      "target",
      `CPU µs/${unit}`,
      `CPU ÷ ${reference}`,
      `${unit}/s`,
      "p50 ms",
      "p99 ms",
      `${unit}/s ÷ ${reference}`,
      `p99 ÷ ${reference}`,
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
  ]) + `\n(medians of ${rounds} rounds; ${unit}/s per round: ${perRound.join("; ")})`
}

export const round2 = (value: number) => Math.round(value * 100) / 100

/** The summary as written to `bench/results/*.json`. */
export const summariesJson = (summaries: ReadonlyArray<Summary>) =>
  summaries.map((summary) => ({
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
