/**
 * The supervisor's side of `workers: N`: it forks the worker processes (each its own
 * `SO_REUSEPORT` listener on the proxy port), restarts those that die, and is the one place
 * where what the pool must agree on is decided:
 *
 * - each worker's outcome batches are folded into the supervisor's registry (breaker, ejection,
 *   EWMA over every worker's requests) and counted in its metrics, once;
 * - the registry's decisions (health, circuit, warm-up) go back to every worker as they happen;
 * - rate-limit buckets live here and are leased out (`domain/ratelimit/Lease.ts`);
 * - a reload is applied here, then sent to every worker as the file's text and the membership
 *   changes (`ReloadTarget`); a worker started later gets the same.
 *
 * Besides `WorkerPool` it provides the supervisor's `RateLimiter`, `RetryBudget` (the workers'
 * summed totals, for the metrics) and `ReloadTarget`.
 */
import { Clock, Context, Deferred, Duration, Effect, Layer, PubSub } from "effect"
import { fork } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { dirname, extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ListenError } from "../domain/Errors.ts"
import { giveBack, grant } from "../domain/ratelimit/Lease.ts"
import { readBatch } from "../domain/workers/OutcomeBatch.ts"
import type { FromWorker, ToWorker } from "../domain/workers/Protocol.ts"
import { isFromWorker } from "../domain/workers/Protocol.ts"
import { isReplicated } from "../domain/workers/Replica.ts"
import { restartDelayMs, settledAfterMs } from "../domain/workers/Restart.ts"
import { workerCount } from "../domain/workers/WorkerCount.ts"
import { packageRoot } from "../PackageRoot.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { ReloadTarget } from "../services/ReloadTarget.ts"
import { RetryBudget } from "../services/RetryBudget.ts"
import { WorkerPool } from "../services/WorkerPool.ts"
import type { WorkerStatus } from "../services/WorkerPool.ts"
import { limitsOf, sweptBuckets, takeToken, unlimited } from "./RateLimiterLive.ts"

/**
 * The worker entry: beside the running executable when it has one (`dist/worker.js` beside
 * `dist/main.js`, `dist/bundle/worker.js` beside the bundle), else beside this module's own
 * directory (`worker.ts` when run from the sources).
 */
const workerEntry = ((): string => {
  const script = process.argv[1]
  // Only Switchyard's own executables: a program embedding it may have a `worker.js` of its own.
  const besideScript = script === undefined || !script.startsWith(packageRoot)
    ? undefined
    : join(dirname(script), `worker${extname(script)}`)
  if (besideScript !== undefined && existsSync(besideScript)) return besideScript
  return fileURLToPath(new URL(`../worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
})()

/** How long a starting worker may take to listen before the start is given up. */
const listenTimeout = Duration.seconds(30)
/** Beyond the grace period, how long a draining worker may take to exit before it is killed. */
const exitMarginMs = 5_000

interface Worker {
  readonly id: number
  child: ChildProcess | undefined
  listening: boolean
  startedAt: number
  youngDeaths: number
  restarts: number
  requests: number
  inFlight: number
  rateLimited: number
  rateLimitStoreErrors: number
  retryBudgetExhausted: number
  /** Per backend, attempts started and not yet finished: finished as `aborted` if the worker dies. */
  readonly outstanding: Map<string, number>
}

export const WorkerPoolLive = Layer.effectContext(Effect.gen(function*() {
  const config = yield* ProxyConfig
  const source = yield* ConfigSource
  const registry = yield* BackendRegistry
  const clock = yield* Clock.Clock
  const count = workerCount(config.workers, availableParallelism())
  const file = source.file
  const startText = source.text
  if (file === undefined || startText === undefined) {
    return yield* Effect.die(new Error("workers need a config read from a file (each worker decodes its text)"))
  }
  let reloadedText: string | undefined
  let port: number | undefined = config.server.port === 0 ? undefined : config.server.port
  let stopping = false
  let restartsTotal = 0
  const retired = { rateLimited: 0, rateLimitStoreErrors: 0, retryBudgetExhausted: 0 }
  const workers: Array<Worker> = Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    child: undefined,
    listening: false,
    startedAt: 0,
    youngDeaths: 0,
    restarts: 0,
    requests: 0,
    inFlight: 0,
    rateLimited: 0,
    rateLimitStoreErrors: 0,
    retryBudgetExhausted: 0,
    outstanding: new Map()
  }))

  const sendTo = (worker: Worker, message: ToWorker) => {
    const child = worker.child
    if (child?.connected === true) child.send(message)
  }
  const broadcast = (message: ToWorker) => {
    for (const worker of workers) sendTo(worker, message)
  }

  /** The clients' buckets the leases come from; none without `rateLimit`. */
  const rateLimit = config.rateLimit
  const limits = rateLimit === undefined ? undefined : limitsOf(rateLimit)
  const limited = limits === undefined ? undefined : { limits, buckets: yield* sweptBuckets(limits) }

  const onLeaseWanted = (worker: Worker, client: string, tokens: number) => {
    if (limited === undefined) return
    const { buckets, limits } = limited
    const now = clock.currentTimeMillisUnsafe()
    const answer = grant(buckets.get(client, now), now, limits, tokens)
    buckets.set(client, answer.bucket)
    sendTo(worker, { _tag: "Lease", client, granted: answer.granted, retryAfterMs: answer.retryAfterMs })
  }
  const onLeaseReturned = (client: string, tokens: number) => {
    if (limited === undefined) return
    const { buckets, limits } = limited
    const now = clock.currentTimeMillisUnsafe()
    buckets.set(client, giveBack(buckets.get(client, now), now, limits, tokens))
  }

  /** What a dead worker leaves: its totals kept, its attempts in flight finished as `aborted`. */
  const retire = (worker: Worker) => {
    retired.rateLimited += worker.rateLimited
    retired.rateLimitStoreErrors += worker.rateLimitStoreErrors
    retired.retryBudgetExhausted += worker.retryBudgetExhausted
    worker.rateLimited = 0
    worker.rateLimitStoreErrors = 0
    worker.retryBudgetExhausted = 0
    worker.inFlight = 0
    const at = clock.currentTimeMillisUnsafe()
    for (const [backend, open] of worker.outstanding) {
      // Epoch -1 is none the circuit is in: the connection died with the worker, which says
      // nothing about the backend.
      for (let i = 0; i < open; i++) {
        registry.emit({ _tag: "RequestFinished", at, backend, epoch: -1, outcome: "aborted", latencyMs: 0 })
      }
    }
    worker.outstanding.clear()
  }

  const pool = WorkerPool.of({
    status: () =>
      workers.map((worker): WorkerStatus => ({
        id: worker.id,
        pid: worker.child?.pid,
        inFlight: worker.inFlight,
        requests: worker.requests,
        restarts: worker.restarts
      })),
    restarts: () => restartsTotal,
    launch: (counted) =>
      Effect.gen(function*() {
        const run = Effect.runForkWith(yield* Effect.context())
        const log = (level: "info" | "warning", message: string) =>
          run(level === "info" ? Effect.logInfo(message) : Effect.logWarning(message))
        const allListening = yield* Deferred.make<void, ListenError>()
        const { host } = config.server
        const cannotListen = (message: string) =>
          new ListenError({ listener: "proxy", host, port: port ?? config.server.port, message })
        const settleIfAllListening = () => {
          if (workers.every((worker) => worker.listening)) Deferred.doneUnsafe(allListening, Effect.void)
        }

        const onMessage = (worker: Worker, message: FromWorker) => {
          switch (message._tag) {
            case "Listening": {
              worker.listening = true
              if (port === undefined) {
                port = message.port
                for (const other of workers) if (other.child === undefined) spawn(other)
              }
              return settleIfAllListening()
            }
            case "Outcomes": {
              const outstanding = worker.outstanding
              readBatch(message.batch, {
                event: (event) => {
                  if (event._tag === "RequestStarted") {
                    outstanding.set(event.backend, (outstanding.get(event.backend) ?? 0) + 1)
                  } else if (event._tag === "RequestFinished") {
                    outstanding.set(event.backend, (outstanding.get(event.backend) ?? 1) - 1)
                  }
                  registry.emit(event)
                },
                counted
              })
              worker.requests += message.requests
              worker.inFlight = message.inFlight
              worker.rateLimited = message.rateLimited
              worker.rateLimitStoreErrors = message.rateLimitStoreErrors
              worker.retryBudgetExhausted = message.retryBudgetExhausted
              return
            }
            case "LeaseWanted":
              return onLeaseWanted(worker, message.client, message.tokens)
            case "LeaseReturned":
              return onLeaseReturned(message.client, message.tokens)
          }
        }

        const spawn = (worker: Worker) => {
          const child = fork(workerEntry, [], {
            serialization: "advanced",
            execArgv: process.execArgv,
            stdio: ["ignore", "inherit", "inherit", "ipc"]
          })
          worker.child = child
          worker.listening = false
          worker.startedAt = clock.currentTimeMillisUnsafe()
          child.on("message", (message: unknown) => {
            if (isFromWorker(message)) onMessage(worker, message)
          })
          // A worker dying mid-send closes the channel under us: that is its exit's business.
          child.on("error", () => undefined)
          child.once("exit", (code, signal) => onExit(worker, child, code, signal))
          child.send(
            {
              _tag: "Start",
              id: worker.id,
              workers: count,
              file,
              text: startText,
              reloaded: reloadedText,
              port,
              states: registry.all()
            } satisfies ToWorker
          )
        }

        const onExit = (worker: Worker, child: ChildProcess, code: number | null, signal: string | null) => {
          if (worker.child !== child) return
          const wasListening = worker.listening
          worker.child = undefined
          worker.listening = false
          retire(worker)
          if (stopping) return exited()
          const how = signal === null ? `exit code ${code ?? "?"}` : `signal ${signal}`
          if (!Deferred.isDoneUnsafe(allListening)) {
            Deferred.doneUnsafe(
              allListening,
              Effect.fail(cannotListen(`worker ${worker.id} (pid ${child.pid}) ended (${how}) before it was listening`))
            )
            return
          }
          const lived = clock.currentTimeMillisUnsafe() - worker.startedAt
          worker.youngDeaths = wasListening && lived >= settledAfterMs ? 0 : worker.youngDeaths + 1
          worker.restarts++
          restartsTotal++
          const delay = restartDelayMs(worker.youngDeaths)
          log("warning", `worker ${worker.id} (pid ${child.pid}) died (${how}); restarting it in ${delay} ms`)
          setTimeout(() => {
            if (!stopping) spawn(worker)
          }, delay)
        }

        let onAllExited: (() => void) | undefined
        const exited = () => {
          if (workers.every((worker) => worker.child === undefined)) onAllExited?.()
        }

        // Decisions reach every worker as the registry makes them.
        const decisions = yield* registry.subscribe()
        yield* PubSub.takeAll(decisions).pipe(
          Effect.map((events) => {
            const replicated = events.filter(isReplicated)
            if (replicated.length > 0) broadcast({ _tag: "Decisions", events: replicated })
          }),
          Effect.forever,
          Effect.forkScoped
        )

        const drain = Effect.callback<void>((resume) => {
          stopping = true
          const killer = setTimeout(() => {
            for (const worker of workers) worker.child?.kill("SIGKILL")
          }, Duration.toMillis(config.server.gracePeriod) + exitMarginMs)
          onAllExited = () => {
            clearTimeout(killer)
            resume(Effect.void)
          }
          broadcast({ _tag: "Drain" })
          exited()
        })
        yield* Effect.addFinalizer(() =>
          drain.pipe(Effect.andThen(Effect.logInfo(`all ${count} workers drained and stopped`)))
        )

        if (port === undefined) {
          const first = workers[0]
          if (first !== undefined) spawn(first)
        } else for (const worker of workers) spawn(worker)
        yield* Deferred.await(allListening).pipe(
          Effect.timeoutOrElse({
            duration: listenTimeout,
            orElse: () =>
              Effect.fail(cannotListen(`the workers did not all listen within ${Duration.format(listenTimeout)}`))
          })
        )
        const scheme = config.server.tls === undefined ? "http" : "https"
        log("info", `proxy listening on ${scheme}://${config.server.host}:${port ?? 0} (${count} workers)`)
      })
  })

  const rateLimiter = RateLimiter.of(
    limited === undefined ? unlimited : {
      // The supervisor answers no client itself; this is the same bucket the leases come from
      // (unused with `rateLimit.store`: then each worker asks Redis).
      admit: (client) => takeToken(limited.buckets, limited.limits, client, clock.currentTimeMillisUnsafe()),
      rejected: () => workers.reduce((sum, worker) => sum + worker.rateLimited, retired.rateLimited),
      storeErrors: () =>
        workers.reduce((sum, worker) => sum + worker.rateLimitStoreErrors, retired.rateLimitStoreErrors),
      tracked: limited.buckets.size
    }
  )
  const retryBudget = RetryBudget.of({
    // Retries are the workers' (each keeps its own budget); here only their totals are read.
    sent: () => undefined,
    allowRetry: () => true,
    exhausted: () => workers.reduce((sum, worker) => sum + worker.retryBudgetExhausted, retired.retryBudgetExhausted)
  })
  const reloadTarget = ReloadTarget.of({
    apply: ({ events, text }) => {
      for (const event of events) if (event._tag === "BackendAdded") registry.emit(event)
      for (const event of events) if (event._tag !== "BackendAdded") registry.emit(event)
      reloadedText = text
      broadcast({ _tag: "Reload", text, events })
    }
  })
  return Context.make(WorkerPool, pool).pipe(
    Context.add(RateLimiter, rateLimiter),
    Context.add(RetryBudget, retryBudget),
    Context.add(ReloadTarget, reloadTarget)
  )
}))
