/**
 * `npm run bench:replay`: how long `switchyard simulate --traffic` takes on a day of traffic, a
 * million access-log lines (target: under 10 s per variant), and its peak memory.
 *
 * The log is generated with the proxy's own line writer (`accessLogLine`) into a temp file: 24 h
 * of Poisson arrivals (about 11.6 req/s) from 1,000 clients in round-robin over three backends,
 * `a` (lognormal median 20 ms, p99 120 ms), `b` (twice as slow) and `c` (like `a`, down from 10:00
 * to 11:00, as its journal says). The built CLI (`dist/bundle`) replays it twice: the config that
 * ran alone, then with two alternatives; a variant costs the difference over two. Peak RSS is the
 * child's `VmHWM` (Linux), read while it runs. Needs `npm run build`.
 */
import { spawn } from "node:child_process"
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { accessLogLine } from "../src/domain/AccessLogLine.ts"
import { exponentialGap, lognormalFromPercentiles, quantile } from "../src/domain/sim/Distributions.ts"

const lines = Number(process.argv[2] ?? 1_000_000)
const dayMs = 24 * 3_600_000
const start = Date.UTC(2026, 11, 2, 0, 0, 0)
const downFrom = start + 10 * 3_600_000
const downUntil = start + 11 * 3_600_000

const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-replay-"))
const traffic = join(dir, "traffic.jsonl")
const journal = join(dir, "journal.jsonl")
const config = join(dir, "config.yaml")

/** A small seeded generator (mulberry32): the same log every run. */
const random = (() => {
  let state = 42
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()

const fast = lognormalFromPercentiles(20, 120)
const slow = lognormalFromPercentiles(40, 240)

const generate = () => {
  const fd = openSync(traffic, "w")
  let batch = ""
  let at = start
  let turn = 0
  const ratePerMs = lines / dayMs
  for (let i = 0; i < lines; i++) {
    at += exponentialGap(ratePerMs, random())
    const down = at >= downFrom && at < downUntil
    const names = down ? ["a", "b"] : ["a", "b", "c"]
    const backend = names[turn++ % names.length] ?? "a"
    const upstreamMs = quantile(backend === "b" ? slow : fast, random())
    batch += accessLogLine({
      at,
      requestId: `r${i}`,
      client: `10.0.${(i * 7) % 1000 >> 8}.${(i * 7) % 256}`,
      method: "GET",
      path: `/items/${i % 500}`,
      protocol: "HTTP/1.1",
      status: random() < 0.002 ? 500 : 200,
      backend,
      pool: "default",
      upstreamMs,
      durationMs: upstreamMs + 0.4,
      bytes: 120,
      retries: 0,
      cache: undefined,
      grpcStatus: undefined
    })
    if (batch.length > 1 << 20) {
      writeSync(fd, batch)
      batch = ""
    }
  }
  writeSync(fd, batch)
  closeSync(fd)
  const policy = {
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    failureThreshold: 5,
    resetTimeoutMs: 30_000,
    halfOpenRequests: 1,
    ewmaDecayMs: 10_000,
    probe: { path: "/health", intervalMs: 5_000, timeoutMs: 1_000 }
  }
  writeFileSync(
    journal,
    [
      ...["a", "b", "c"].map((name) => ({
        _tag: "BackendAdded",
        at: start - 1_000,
        spec: { name, url: `http://${name}.internal:8080`, weight: 1 },
        policy
      })),
      { _tag: "ProbeSucceeded", at: downFrom - 4_000, backend: "c", latencyMs: 1 },
      { _tag: "ProbeFailed", at: downFrom + 1_000, backend: "c", reason: "connection refused" },
      { _tag: "ProbeSucceeded", at: downUntil + 1_000, backend: "c", latencyMs: 1 }
    ].map((event) => JSON.stringify(event)).join("\n") + "\n"
  )
  writeFileSync(
    config,
    `strategy: round-robin
backends:
  - { name: a, url: "http://a.internal:8080" }
  - { name: b, url: "http://b.internal:8080" }
  - { name: c, url: "http://c.internal:8080" }
healthCheck: { interval: 5s, timeout: 1s }
retry: { attempts: 2 }
`
  )
}

/** Runs the CLI; its wall time and the highest VmHWM seen. */
const replay = (strategies: string) =>
  new Promise<{ readonly seconds: number; readonly peakMiB: number; readonly stdout: string }>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [
      new URL("../dist/bundle/switchyard.js", import.meta.url).pathname,
      "simulate",
      "--traffic",
      traffic,
      "--journal",
      journal,
      "--config",
      config,
      "--strategies",
      strategies
    ], { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    let peakKiB = 0
    child.stdout.on("data", (chunk: Buffer) => stdout += chunk.toString())
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
        peakKiB = Math.max(peakKiB, Number(hwm?.[1] ?? 0))
      } catch {
        // Gone already: the last reading stands.
      }
    }, 50)
    child.on("exit", (code) => {
      clearInterval(poll)
      if (code !== 0) reject(new Error(`simulate exited ${code}`))
      else resolve({ seconds: (performance.now() - started) / 1000, peakMiB: peakKiB / 1024, stdout })
    })
  })

const generating = performance.now()
generate()
console.log(
  `generated ${lines.toLocaleString("en")} lines (${(statSync(traffic).size / 2 ** 20).toFixed(0)} MiB) in ${
    ((performance.now() - generating) / 1000).toFixed(1)
  } s`
)
const one = await replay("round-robin")
const three = await replay("round-robin,p2c-ewma,least-connections")
const perVariant = (three.seconds - one.seconds) / 2
console.log(one.stdout.split("\n").slice(0, 16).join("\n"))
console.log("")
console.log(
  `config that ran alone (read, fit, one replay): ${one.seconds.toFixed(2)} s, peak RSS ${one.peakMiB.toFixed(0)} MiB`
)
console.log(`with two alternatives: ${three.seconds.toFixed(2)} s, peak RSS ${three.peakMiB.toFixed(0)} MiB`)
console.log(`per variant: ${perVariant.toFixed(2)} s`)
rmSync(dir, { recursive: true, force: true })
