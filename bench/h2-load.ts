/**
 * h2load (nghttp2's load generator, Debian's `nghttp2-client`) as a bench `Loader`: `-c` clients,
 * each one HTTP/2 connection keeping up to `-m` streams in flight, each sending its next request as
 * soon as one is answered, for `-D` seconds, on one thread (`-t1`, as wrk runs). Over `https:` it
 * negotiates h2 by ALPN; over `http:` it speaks h2c with prior knowledge (its default
 * `--no-tls-proto=h2c`), with no HTTP/1.1 upgrade.
 *
 * h2load prints the min, max, mean and deviation of request times, not percentiles, so each run
 * also writes its per-request log (`--log-file`: start, status, µs until the end of the response)
 * to a temp file, and p50 and p99 are taken from it as wrk reports them. h2load appends to that
 * file, so it is removed before each run.
 */
import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { makeTempDir } from "./children.ts"
import type { Loader, Sample } from "./load.ts"
import { runToEnd } from "./load.ts"
import { quantile } from "./open-loop.ts"

const number = (output: string, pattern: RegExp, what: string): number => {
  const text = output.match(pattern)?.[1]
  if (text === undefined) throw new Error(`no ${what} in h2load output:\n${output}`)
  return Number(text)
}

/**
 * A run from h2load's summary and its `--log-file`. Errors are h2load's `failed`: streams reset or
 * cut off, and answers other than 2xx and 3xx.
 */
export const parseH2load = (output: string, log: string): Sample => {
  // h2load falls back to HTTP/1.1 when ALPN offers no h2: that would be another bench.
  const protocol = output.match(/^Application protocol: (\S+)$/m)?.[1]
  if (protocol !== "h2" && protocol !== "h2c") {
    throw new Error(`h2load spoke ${protocol ?? "no protocol"}, not HTTP/2:\n${output}`)
  }
  const latenciesMs = log.split("\n").flatMap((line) => {
    const [, status, micros] = line.split("\t")
    return status === undefined || status === "-1" || micros === undefined ? [] : [Number(micros) / 1_000]
  }).sort((a, b) => a - b)
  const succeeded = number(output, /(\d+) succeeded/, "requests succeeded")
  if (succeeded === 0) throw new Error(`no request succeeded:\n${output}`)
  return {
    rps: number(output, /finished in [\d.]+m?s, ([\d.]+) req\/s/, "req/s"),
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    requests: number(output, /requests: \d+ total, \d+ started, (\d+) done/, "requests done"),
    errors: number(output, /(\d+) failed/, "failed requests")
  }
}

export const h2loadLoader = (h2load: string, clients: number, streams: number): Loader => {
  const log = join(makeTempDir("switchyard-bench-h2load-"), "requests.tsv")
  const args = (seconds: number) => ["-t1", `-c${clients}`, `-m${streams}`, `-D${seconds}`]
  return {
    describe: (seconds) => `h2load ${args(seconds).join(" ")}`,
    run: async (url, seconds) => {
      rmSync(log, { force: true })
      const output = await runToEnd("h2load", h2load, [...args(seconds), `--log-file=${log}`, url])
      return parseH2load(output, readFileSync(log, "utf8"))
    }
  }
}
