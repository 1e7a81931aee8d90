/**
 * The load generators, always in a process of their own so that the load they make does not share
 * a thread with what they measure: `wrk -t1` when installed, else autocannon run by Node.
 *
 * autocannon is itself a single Node process; it tops out near what one Node server can answer,
 * so with it the fastest targets measure the generator as much as the target; and it reports
 * latencies in whole milliseconds. Prefer wrk.
 */
import { Schema } from "effect"
import { createRequire } from "node:module"
import { spawnChild } from "./children.ts"

/** One run against one target. Latencies are in milliseconds. */
export interface Sample {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Connect/read/write errors, timeouts and non-2xx/3xx answers. */
  readonly errors: number
}

export interface Loader {
  /** The command line, for the report. */
  readonly describe: (seconds: number) => string
  readonly run: (url: string, seconds: number) => Promise<Sample>
}

const toMs: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

const wrkLatency = (output: string, percentile: string): number => {
  const match = output.match(new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m"))
  const unit = match?.[2] === undefined ? undefined : toMs[match[2]]
  if (match?.[1] === undefined || unit === undefined) throw new Error(`no ${percentile}% latency in wrk output`)
  return Number(match[1]) * unit
}

const wrkNumber = (output: string, pattern: RegExp, what: string): number => {
  const text = output.match(pattern)?.[1]
  if (text === undefined) throw new Error(`no ${what} in wrk output`)
  return Number(text)
}

export const parseWrk = (output: string): Sample => {
  const socket = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, count) => sum + Number(count), 0)
  const non2xx = Number(output.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? "0")
  return {
    rps: wrkNumber(output, /Requests\/sec:\s+([\d.]+)/, "Requests/sec"),
    p50Ms: wrkLatency(output, "50"),
    p99Ms: wrkLatency(output, "99"),
    requests: wrkNumber(output, /(\d+) requests in/, "request count"),
    errors: socketErrors + non2xx
  }
}

/** Runs a load generator to its end; its stdout, or a rejection with its output if it failed. */
export const runToEnd = async (name: string, command: string, args: ReadonlyArray<string>): Promise<string> => {
  const child = spawnChild(name, command, args)
  const how = await child.exited
  if (how !== "exit 0") throw new Error(`${name} ${how}:\n${child.output()}`)
  return child.stdout()
}

export const wrkLoader = (wrk: string, connections: number): Loader => {
  const args = (seconds: number) => ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency"]
  return {
    describe: (seconds) => `wrk ${args(seconds).join(" ")}`,
    run: async (url, seconds) => parseWrk(await runToEnd("wrk", wrk, [...args(seconds), url]))
  }
}

/** The part of autocannon's `--json` result used here (it holds much more). */
const AutocannonResult = Schema.fromJsonString(Schema.Struct({
  /** Seconds the run actually took. */
  duration: Schema.Number,
  requests: Schema.Struct({ total: Schema.Number }),
  latency: Schema.Struct({ p50: Schema.Number, p99: Schema.Number }),
  errors: Schema.Number,
  timeouts: Schema.Number,
  non2xx: Schema.Number
}))

const decodeAutocannon = Schema.decodeUnknownSync(AutocannonResult)

export const parseAutocannon = (json: string): Sample => {
  const result = decodeAutocannon(json)
  return {
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx
  }
}

export const autocannonLoader = (connections: number): Loader => {
  const autocannonJs = createRequire(import.meta.url).resolve("autocannon")
  const args = (seconds: number) => ["-c", String(connections), "-d", String(seconds), "--json"]
  return {
    describe: (seconds) => `autocannon ${args(seconds).join(" ")}`,
    run: async (url, seconds) =>
      parseAutocannon(await runToEnd("autocannon", process.execPath, [autocannonJs, ...args(seconds), url]))
  }
}
