/**
 * An open-loop load generator: requests leave at a fixed rate whether or not earlier ones were
 * answered, as independent clients would send them. A closed loop (wrk, autocannon's connections)
 * waits for an answer before the next request, so a stall of the target also stalls the load and
 * the stall's victims are never measured; here a request due during a stall is sent (or queued
 * for a free connection) on time, and its latency counts from then.
 *
 * autocannon's `--overallRate` was tried first: it reports whole milliseconds and, against a bare
 * `node:http` server at 2,000 req/s, a p99 of 18 ms of its own making, which is no ruler for a
 * tail measured in milliseconds.
 *
 * Latency is from the moment a request is handed to the client (`http.request`) to the end of its
 * response; the generator's own timer lag (under a millisecond a tick) is outside it.
 */
import { Agent, request } from "node:http"
import { performance } from "node:perf_hooks"

export interface OpenLoopResult {
  readonly sent: number
  readonly answered: number
  readonly errors: number
  /** Milliseconds, sorted ascending: one per answered request. */
  readonly latenciesMs: ReadonlyArray<number>
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

/** Sends `rate` requests per second to `url` for `seconds`, over up to `connections` keep-alive sockets. */
export const runOpenLoop = (
  url: string,
  options: { readonly rate: number; readonly seconds: number; readonly connections: number }
): Promise<OpenLoopResult> =>
  new Promise((resolve) => {
    const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
    const total = Math.round(options.rate * options.seconds)
    const latencies: Array<number> = []
    let sent = 0
    let settled = 0
    let errors = 0
    const finish = () => {
      settled++
      if (settled < total) return
      agent.destroy()
      resolve({ sent, answered: latencies.length, errors, latenciesMs: latencies.sort((a, b) => a - b) })
    }
    const send = () => {
      const start = performance.now()
      const req = request(url, { agent }, (response) => {
        response.on("data", () => undefined)
        response.on("end", () => {
          if (response.statusCode === 200) latencies.push(performance.now() - start)
          else errors++
          finish()
        })
      })
      req.on("error", () => {
        errors++
        finish()
      })
      req.end()
    }
    const began = performance.now()
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - began) / 1000) * options.rate))
      while (sent < due) {
        sent++
        send()
      }
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
