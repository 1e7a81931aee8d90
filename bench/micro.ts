/**
 * `npm run bench:micro`: what Switchyard's own per-request bookkeeping costs, in nanoseconds per
 * request, in-process and without sockets: the part of the data path that is ours rather than
 * Node's or undici's (ARCHITECTURE, "The data path budget": a few microseconds at most).
 *
 * The rows, each done the way the router does it (`RouterLive`, `ProxyExchange`):
 * - pick: the round-robin selector over the registry's pool of three backends;
 * - emit: `RequestStarted` then `RequestFinished` on the registry (acquire and release), with no
 *   subscriber, then with one live subscriber of request events draining in a forked fiber;
 * - select + acquire + release: the version check and pick, two clock reads, both events (the
 *   clock reads, Effect's `Clock` as the router uses it, are also timed alone).
 *
 * Each row runs N = 1e6 times per round after a warm-up; the figure is the median of 5 rounds.
 * The loop yields to the event loop every 1,000 requests, as a server between requests would, so
 * that the subscriber keeps up (its buffer holds 4,096 events and drops the oldest when full: a
 * never-yielding loop would measure the lagging case instead). "in the calls" times the loop
 * alone; "wall" adds those event-loop turns and whatever work they run. Every call goes through
 * one function parameter, which costs a few ns: mind it when reading `pick`.
 *
 * Gotcha when reading the subscriber rows: a subscriber fiber waiting for events is resumed by
 * the publish itself, on the emitting call stack, and takes that one event before it waits again.
 * So its per-event work lands "in the calls", paid by the request, not in a later turn.
 */
import { Clock, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { defaultPolicy } from "../src/domain/BackendPolicy.ts"
import { strategies } from "../src/domain/selection/Strategies.ts"
import type { RequestFacts, SelectionEnv, StrategySettings } from "../src/domain/selection/Strategy.ts"
import { makeBackendRegistry } from "../src/layers/BackendRegistryLive.ts"

const iterations = 1_000_000
const warmupIterations = 200_000
const rounds = 5
const batch = 1_000

const registry = Effect.runSync(makeBackendRegistry)
const clock = Effect.runSync(Clock.clockWith(Effect.succeed))
for (const port of [9101, 9102, 9103]) {
  registry.emit({
    _tag: "BackendAdded",
    at: clock.currentTimeMillisUnsafe(),
    spec: { name: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, weight: 1 },
    policy: defaultPolicy
  })
}
const first = registry.pool()[0]
if (first === undefined) throw new Error("the registry has no backends")

const strategy = strategies["round-robin"]
const env: SelectionEnv = { random: Math.random, now: () => clock.currentTimeMillisUnsafe() }
const settings: StrategySettings = { hashKey: "client-ip" }
const facts: RequestFacts = { clientAddress: "127.0.0.1", path: "/", header: () => undefined }
let builtFor = registry.version()
let selector = strategy.build(registry.pool(), env, settings)
const now = () => Number(clock.currentTimeNanosUnsafe()) / 1e6

const pick = () => {
  selector.pick(registry.pool(), facts, undefined)
}

const name = first.spec.name
const emitPair = (i: number) => {
  registry.emit({ _tag: "RequestStarted", at: i, backend: name, epoch: first.epoch, attempt: 1 })
  registry.emit({ _tag: "RequestFinished", at: i, backend: name, epoch: first.epoch, outcome: "success", latencyMs: 1 })
}

const sequence = () => {
  if (registry.version() !== builtFor) {
    builtFor = registry.version()
    selector = strategy.build(registry.pool(), env, settings)
  }
  const backend = selector.pick(registry.pool(), facts, undefined)
  if (backend === undefined) throw new Error("no backend was selectable")
  const startedAt = now()
  registry.emit({
    _tag: "RequestStarted",
    at: startedAt,
    backend: backend.spec.name,
    epoch: backend.epoch,
    attempt: 1
  })
  const at = now()
  registry.emit({
    _tag: "RequestFinished",
    at,
    backend: backend.spec.name,
    epoch: backend.epoch,
    outcome: "success",
    latencyMs: at - startedAt
  })
}

const clockReads = () => {
  now()
  now()
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

interface Timing {
  readonly callsNs: number
  readonly wallNs: number
}

const measure = async (op: (i: number) => void, n: number): Promise<Timing> => {
  let inCalls = 0n
  const start = process.hrtime.bigint()
  for (let done = 0; done < n; done += batch) {
    const end = Math.min(n, done + batch)
    const batchStart = process.hrtime.bigint()
    for (let i = done; i < end; i++) op(i)
    inCalls += process.hrtime.bigint() - batchStart
    await turn()
  }
  const wall = process.hrtime.bigint() - start
  return { callsNs: Number(inCalls) / n, wallNs: Number(wall) / n }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

interface Row {
  readonly label: string
  readonly op: (i: number) => void
}

interface Result {
  readonly label: string
  readonly callsNs: number
  readonly wallNs: number
}

/** Warms every row up, then runs the rows in turn, `rounds` times. */
const runRows = async (rows: ReadonlyArray<Row>): Promise<Array<Result>> => {
  for (const row of rows) await measure(row.op, warmupIterations)
  const timings = rows.map((): Array<Timing> => [])
  for (let round = 0; round < rounds; round++) {
    for (const [index, row] of rows.entries()) timings[index]?.push(await measure(row.op, iterations))
  }
  return rows.map((row, index) => ({
    label: row.label,
    callsNs: median((timings[index] ?? []).map((timing) => timing.callsNs)),
    wallNs: median((timings[index] ?? []).map((timing) => timing.wallNs))
  }))
}

const alone = await runRows([
  { label: "pick (round robin, 3 backends)", op: pick },
  { label: "2 clock reads (a request's start and end)", op: clockReads },
  { label: "emit Started + Finished, no subscriber", op: emitPair },
  { label: "select + acquire + release, no subscriber", op: sequence }
])

const scope = Effect.runSync(Scope.make())
const subscription = Effect.runSync(Scope.provide(scope)(registry.subscribe({ requests: true })))
let received = 0
const count = (chunk: ReadonlyArray<unknown>) =>
  Effect.sync(() => {
    received += chunk.length
  })
const drain = Effect.runFork(Stream.runForEachArray(Stream.fromSubscription(subscription), count))
const watchedRows: ReadonlyArray<Row> = [
  { label: "emit Started + Finished, 1 live subscriber", op: emitPair },
  { label: "select + acquire + release, 1 live subscriber", op: sequence }
]
const watched = await runRows(watchedRows)
await turn()
// Two events per request: a subscriber that kept up has every one of them.
const published = 2 * watchedRows.length * (warmupIterations + rounds * iterations)
await Effect.runPromise(Fiber.interrupt(drain))
await Effect.runPromise(Scope.close(scope, Exit.void))

const results = [...alone, ...watched]
const labelWidth = Math.max(...results.map((result) => result.label.length))
const thousands = (value: number) => value.toLocaleString("en-US")
console.log(`Switchyard micro-benchmark: ns per request, median of ${rounds} rounds of ${thousands(iterations)}`)
console.log(`Node ${process.version}\n`)
console.log(`${"".padEnd(labelWidth)}  in the calls      wall`)
for (const { callsNs, label, wallNs } of results) {
  console.log(`${label.padEnd(labelWidth)}  ${callsNs.toFixed(0).padStart(12)}  ${wallNs.toFixed(0).padStart(8)}`)
}
console.log(`\nthe subscriber received ${thousands(received)} of ${thousands(published)} events published`)
