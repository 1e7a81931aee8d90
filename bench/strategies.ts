/**
 * `npm run bench:strategies`: what one `pick` costs, in nanoseconds, for every strategy in the
 * table (`src/domain/selection/Strategies.ts`) over pools of 3, 10 and 100 backends. The budget is
 * 50 ns per pick at 10 backends: selection is a small slice of the few microseconds the data path
 * may spend per request (ARCHITECTURE, "The data path budget").
 *
 * The pools are a busy steady state: weights 1–3, 1–5 requests in flight, average and peak latency
 * estimates of 5–45 ms observed up to 5 s ago, every backend selectable. Before each pick two
 * backends' states are replaced by equal copies, as a request's start and another's finish
 * replace them in the registry (the finish with new latency estimate objects), so a selector that
 * caches by state or estimate is measured with the misses it would have in service. Picks cycle
 * through 1,024 clients (distinct addresses, paths and session cookies), so the hash strategies
 * see many keys. `env` is what the router passes, minus Effect's thin wrappers: `random` is
 * `Math.random` (V8's xorshift128+, which Effect's default `Random` reads) and `now` is `Date.now`
 * (which its default `Clock` reads). Results feed a checksum so no pick is optimised away.
 *
 * Rows:
 * - `(loop only)`: the same loop and state churn around a pick that returns the first backend,
 *   the harness's own share of every other row;
 * - one row per strategy, as the router runs it; `consistent-hash` keyed by `client-ip` (the
 *   default), then again keyed by `cookie:session`;
 *
 * Each row runs in child processes of its own: in the proxy only one strategy is ever live, so
 * its call sites see one shape; sharing an isolate would let one strategy's feedback slow the next.
 * Per process, row and pool size: a warm-up of 200,000 picks, then N = 1e6 picks per round, and
 * the median of 5 rounds. V8 does not inline the same way in every process (the same row can
 * differ by a third from one process to the next), so each row runs in 3 processes and the table
 * shows the median of their figures.
 */
import { spawnSync } from "node:child_process"
import { defaultPolicy } from "../src/domain/BackendPolicy.ts"
import { initialState } from "../src/domain/BackendState.ts"
import type { BackendState } from "../src/domain/BackendState.ts"
import { strategies, strategyNames } from "../src/domain/selection/Strategies.ts"
import type { RequestFacts, SelectionEnv, Selector, Strategy } from "../src/domain/selection/Strategy.ts"

const sizes = [3, 10, 100]
const iterations = 1_000_000
const warmupIterations = 200_000
const rounds = 5
const processes = 3
const budgetNs = 50
const loopOnly = "(loop only)"

interface Row {
  readonly label: string
  /** A strategy name from the table, or `loopOnly`. */
  readonly strategy: string
  readonly hashKey: string
}

const rows: ReadonlyArray<Row> = [
  { label: loopOnly, strategy: loopOnly, hashKey: "client-ip" },
  ...strategyNames.map((name) => ({ label: name, strategy: name, hashKey: "client-ip" })),
  {
    label: "consistent-hash · cookie:session",
    strategy: "consistent-hash",
    hashKey: "cookie:session"
  }
]

const makePool = (size: number, now: number): Array<BackendState> =>
  Array.from({ length: size }, (_, i) => ({
    ...initialState(
      { name: `backend-${i}`, url: `http://10.0.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 3) },
      defaultPolicy
    ),
    inFlight: 1 + ((i * 7) % 5),
    latency: { value: 5 + ((i * 13) % 40), at: now - ((i * 97) % 5_000), samples: 1 },
    peakLatency: { value: 8 + ((i * 17) % 38), at: now - ((i * 89) % 5_000), samples: 1 }
  }))

const clients: ReadonlyArray<RequestFacts> = Array.from({ length: 1_024 }, (_, i) => {
  const headers: Record<string, string> = { cookie: `theme=dark; session=s${i * 7919}` }
  return {
    clientAddress: `10.${(i >> 8) & 255}.${i & 255}.${(i * 31) & 255}`,
    path: `/items/${i}`,
    header: (name: string) => headers[name]
  }
})
const firstClient: RequestFacts = { clientAddress: "10.0.0.1", path: "/", header: () => undefined }

const firstBackend: Strategy = {
  name: loopOnly,
  summary: "returns the first backend: the harness alone",
  build: () => ({ pick: (pool) => pool[0] })
}

let checksum = 0

/**
 * The registry's churn, without allocating: each backend has four equal states, two per latency
 * estimate object. A request's start replaces a state by its twin with the same estimates; a
 * finish replaces it by one with new estimate objects, as `RequestFinished` makes.
 */
interface Churn {
  readonly versions: ReadonlyArray<readonly [BackendState, BackendState, BackendState, BackendState]>
  readonly current: Uint8Array
}

const churnFor = (pool: ReadonlyArray<BackendState>): Churn => ({
  versions: pool.map((state) => {
    const renewed = (s: BackendState): BackendState => ({
      ...s,
      latency: s.latency === undefined ? undefined : { ...s.latency },
      peakLatency: s.peakLatency === undefined ? undefined : { ...s.peakLatency }
    })
    const other = renewed(state)
    return [state, { ...state }, other, { ...other }] as const
  }),
  current: new Uint8Array(pool.length)
})

const replace = (pool: Array<BackendState>, churn: Churn, index: number, finished: boolean): void => {
  const now = churn.current[index] ?? 0
  const next = finished ? (now ^ 2) & 2 : now ^ 1
  const state = churn.versions[index]?.[next]
  if (state === undefined) return
  churn.current[index] = next
  pool[index] = state
}

const timeRound = (selector: Selector, pool: Array<BackendState>, churn: Churn, n: number): number => {
  const size = pool.length
  let sum = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    replace(pool, churn, i % size, false)
    replace(pool, churn, (i * 7 + 3) % size, true)
    const picked = selector.pick(pool, clients[i & 1_023] ?? firstClient, undefined)
    sum += picked === undefined ? -1 : picked.inFlight
  }
  const elapsed = process.hrtime.bigint() - start
  checksum += sum
  return Number(elapsed) / n
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** One row at every pool size, in this process: ns per pick by size. */
const measure = (row: Row): Array<number> => {
  const strategy = row.strategy === loopOnly
    ? firstBackend
    : strategies[strategyNames.find((name) => name === row.strategy) ?? "round-robin"]
  return sizes.map((size) => {
    const now = Date.now()
    const env: SelectionEnv = { random: Math.random, now: Date.now }
    const pool = makePool(size, now)
    const churn = churnFor(pool)
    const selector = strategy.build(pool, env, { hashKey: row.hashKey })
    timeRound(selector, pool, churn, warmupIterations)
    return median(Array.from({ length: rounds }, () => timeRound(selector, pool, churn, iterations)))
  })
}

const childRow = rows.find((row) => row.label === process.argv[2])
if (childRow !== undefined) {
  process.stdout.write(JSON.stringify({ figures: measure(childRow), checksum }))
} else {
  const runOnce = (row: Row): ReadonlyArray<number> => {
    const run = spawnSync(process.execPath, [import.meta.filename, row.label], { encoding: "utf8" })
    if (run.status !== 0) throw new Error(`${row.label}: ${run.stderr}`)
    const parsed: unknown = JSON.parse(run.stdout)
    return typeof parsed === "object" && parsed !== null && "figures" in parsed && Array.isArray(parsed.figures)
      ? parsed.figures.map(Number)
      : []
  }
  const results = rows.map((row) => {
    const runs = Array.from({ length: processes }, () => runOnce(row))
    return { label: row.label, figures: sizes.map((_, i) => median(runs.map((figures) => figures[i] ?? Number.NaN))) }
  })
  const width = Math.max(...results.map((result) => result.label.length))
  console.log(
    `Switchyard strategies: ns per pick, median of ${rounds} rounds of ${iterations.toLocaleString("en-US")} picks,`
  )
  const platform = `Node ${process.version}, ${process.platform}/${process.arch}`
  console.log(`median over ${processes} processes per row; ${platform}\n`)
  console.log(`${"".padEnd(width)}  ${sizes.map((size) => `${size} backends`.padStart(13)).join("")}`)
  for (const { figures, label } of results) {
    const cells = figures.map((ns) => ns.toFixed(1).padStart(13)).join("")
    const over = label !== loopOnly && (figures[sizes.indexOf(10)] ?? 0) > budgetNs ? `   > ${budgetNs} at 10` : ""
    console.log(`${label.padEnd(width)}  ${cells}${over}`)
  }
}
