/**
 * `npm run bench:ratelimit-store`: what sharing rate limits through Redis (`rateLimit.store`)
 * costs per request, next to the same limit kept in the process, and next to no limit at all.
 *
 * What runs, each in its own process: the three backends of `npm run bench` (nginx, or Node
 * without it); one `redis-server` (Debian's, nothing saved to disk); and three Switchyards
 * (access log off), round robin over the backends:
 * - `no-limit`: no `rateLimit`;
 * - `limit-local`: `rateLimit` with a limit so high it never refuses, kept in the process;
 * - `limit-redis`: the same limit with `store: { redis }`, so every request is one EVALSHA.
 * The load is `wrk -t1 -c50` (or autocannon), from one address: every request is the same
 * client, the same Redis key, as the worst case for that key and the plainest for Redis.
 *
 * Reported, as medians over the rounds (rounds.ts): req/s and Switchyard's CPU per request (its
 * process tree); and, separately, Redis's own CPU per request of `limit-redis` (redis-server's
 * CPU during each measured run over the requests of that run). The machine is shared with other
 * benchmarks: the load average is printed first, and CPU per request is the figure to trust. The
 * bench fails if any request of `limit-redis` fell back on `onError` (its figures would not be
 * Redis's).
 *
 * Settings as `npm run bench`: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (50), BENCH_LOADER=autocannon, BENCH_NGINX=off. Results are also written to
 * bench/results/latest-ratelimit-store.json.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startBackends } from "./backends.ts"
import type { Child } from "./children.ts"
import { findExecutable, freePort, makeTempDir, runBench, spawnChild } from "./children.ts"
import { treeCpuMicros } from "./cpu.ts"
import { responseBytes } from "./fixture.ts"
import type { Loader } from "./load.ts"
import { autocannonLoader, wrkLoader } from "./load.ts"
import { findNginx } from "./nginx.ts"
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
const startTimeoutMs = 15_000
/** High enough that nothing is ever refused: what is measured is the asking, not the 429s. */
const neverRefusing = "requestsPerSecond: 1000000000, burst: 1000000000"

const startRedis = async (): Promise<{ readonly child: Child; readonly url: string }> => {
  const redisServer = findExecutable("redis-server")
  if (redisServer === undefined) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)")
  const port = await freePort()
  const dir = makeTempDir("redis-bench-")
  const child = spawnChild("redis", redisServer, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir
  ])
  await child.waitFor(/Ready to accept connections/, startTimeoutMs)
  return { child, url: `redis://127.0.0.1:${port}/0` }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? sorted[middle] ?? Number.NaN
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
}

const main = async (): Promise<void> => {
  const settings = roundSettings()
  const connections = wholeNumberSetting("BENCH_CONNECTIONS", 50, 1)
  if (!existsSync(switchyardMainJs)) throw new Error(`${switchyardMainJs} is missing: run \`npm run build\` first`)
  const nginx = process.env["BENCH_NGINX"] === "off" ? undefined : findNginx()
  const wrk = process.env["BENCH_LOADER"] === "autocannon" ? undefined : findExecutable("wrk")
  const inner: Loader = wrk === undefined ? autocannonLoader(connections) : wrkLoader(wrk, connections)
  const host = hostFacts()
  const backendKind = nginx === undefined ? "node:http (nginx not found)" : "nginx, 1 worker each"
  console.log(`rate-limit store bench: ${inner.describe(settings.seconds)}, ${describeRounds(settings)}`)
  console.log(`backends: 3 × ${backendKind}, ${responseBytes}-byte body; redis-server on loopback`)
  console.log(describeHost(host))
  console.log("(a shared machine: other benchmarks may be running; compare CPU per request, not req/s)")

  const backends = await startBackends(nginx, 3)
  const redis = await startRedis()
  const admins = new Map<string, string>()
  const start = async (name: string, about: string, rateLimit: string | undefined): Promise<Target> => {
    const { adminUrl, child, url } = await startSwitchyard({
      name,
      backendPorts: backends.map((backend) => backend.port),
      accessLog: false,
      config: () => rateLimit === undefined ? [] : [`rateLimit: { ${rateLimit} }`],
      timeoutMs: startTimeoutMs
    })
    admins.set(name, adminUrl)
    return { name, about, url, child }
  }
  const targets = [
    await start("no-limit", "Switchyard without rateLimit", undefined),
    await start("limit-local", "rateLimit kept in the process (never refusing)", neverRefusing),
    await start(
      "limit-redis",
      "the same rateLimit with store: { redis } (one EVALSHA per request)",
      `${neverRefusing}, store: { redis: "${redis.url}", timeout: 50ms }`
    )
  ]
  const store = targets[2]
  if (store === undefined) throw new Error("no limit-redis target")

  // Redis's CPU per request of each run against the store's target, from a loader that wraps the
  // one measuring: the same runs, the same requests.
  const redisRuns: Array<{ readonly seconds: number; readonly cpuUsPerRequest: number }> = []
  const loader: Loader = {
    describe: inner.describe,
    run: async (url, seconds) => {
      if (url !== store.url) return inner.run(url, seconds)
      const before = treeCpuMicros(redis.child.process.pid)
      const sample = await inner.run(url, seconds)
      const after = treeCpuMicros(redis.child.process.pid)
      redisRuns.push({
        seconds,
        cpuUsPerRequest: before === undefined || after === undefined || sample.requests === 0
          ? Number.NaN
          : (after - before) / sample.requests
      })
      return sample
    }
  }

  const reference = "limit-local"
  const summaries = await measureRounds({
    settings,
    loader,
    targets,
    reference,
    watched: [...backends.map((backend) => backend.child), redis.child, ...targets.map((target) => target.child)]
  })
  // Requests that fell back on onError would measure the fallback, not Redis.
  const metrics = await (await fetch(`${admins.get(store.name) ?? ""}/metrics`)).text()
  const storeErrors = Number(metrics.match(/^lb_rate_limit_store_errors_total (\d+)/m)?.[1] ?? Number.NaN)
  if (storeErrors !== 0) throw new Error(`limit-redis counted ${storeErrors} store errors: its figures are not Redis's`)
  const measured = redisRuns.filter((run) => run.seconds === settings.seconds).map((run) => run.cpuUsPerRequest)
  const redisCpu = median(measured)

  console.log("")
  console.log(formatSummaries(summaries, reference))
  console.log(
    `redis-server CPU per limit-redis request: ${redisCpu.toFixed(1)} µs (median; per run: ${
      measured.map((us) => us.toFixed(1)).join(" / ")
    })`
  )

  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, "latest-ratelimit-store.json")
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        host: { ...host, loadAverage: round2(host.loadAverage) },
        settings: {
          loader: inner.describe(settings.seconds),
          backends: `3 × ${backendKind}`,
          ...settings,
          connections
        },
        reference,
        targets: summariesJson(summaries),
        redisCpuUsPerRequest: round2(redisCpu),
        redisCpuUsPerRequestRounds: measured.map(round2)
      },
      null,
      2
    ) + "\n"
  )
  console.log(`written to ${file}`)
}

await runBench("rate-limit store bench", main)
