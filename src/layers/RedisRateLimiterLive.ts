/**
 * Rate limits shared by every instance through Redis (`rateLimit.store`): each request runs the
 * GCRA script (`domain/ratelimit/Gcra.ts`) on the client's key, one round trip, pipelined with
 * the other requests' on one connection (node-redis writes what is queued together). The verdict
 * comes back asynchronously (`Admission` "later"), at most `timeout` after the request arrived:
 * an ask not answered by then, or answered with an error, or made while the connection is down,
 * follows `onError` and counts in `lb_rate_limit_store_errors_total`.
 *
 * Before Redis is asked, the request is held to this process's own bucket of the same limits
 * (`domain/ratelimit/SharedStore.ts` says why). The connection is the layer's: opened when it is
 * built (waiting for the first connect to succeed or fail, no longer), re-opened with backoff
 * when lost, closed when the layer's scope closes. Requests never wait for a reconnection: while
 * the connection is down they follow `onError` at once.
 */
import { Clock, Duration, Effect, Fiber, Layer } from "effect"
import { createHash } from "node:crypto"
import { makeDeadlineQueue } from "../domain/ratelimit/Deadlines.ts"
import type { Expiring } from "../domain/ratelimit/Deadlines.ts"
import { decodeGcraReply, gcraArguments, gcraScript, keyPrefix } from "../domain/ratelimit/Gcra.ts"
import type { GcraVerdict } from "../domain/ratelimit/Gcra.ts"
import { reconnectDelayMs, whenStoreFails } from "../domain/ratelimit/SharedStore.ts"
import type { OnError } from "../domain/ratelimit/SharedStore.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import type { Verdict } from "../services/RateLimiter.ts"
import { allowed, limitsOf, retryAfterSeconds, sweptBuckets, takeToken, unlimited } from "./RateLimiterLive.ts"

/** An error reply (a Redis that refuses the script: ACL, out of memory) is logged at most this often, per message. */
const replyErrorLogMs = 60_000
/** How long building the layer waits for the first connection before serving on `onError`. */
const connectTimeoutMs = 1_000
/**
 * Commands queued at most on the connection: past it (a Redis that stopped reading) an ask fails
 * at once instead of holding memory for an answer that would come too late anyway.
 */
const maxQueuedCommands = 10_000

const gcraSha = createHash("sha1").update(gcraScript).digest("hex")

/** The URL as it may be logged: without its password. */
const redacted = (url: string): string => {
  const parsed = new URL(url)
  if (parsed.password !== "") parsed.password = "***"
  return parsed.href
}

/** One request's ask of Redis: the admission the data path waits on, and the queue's entry for its deadline. */
class Ask implements Expiring {
  readonly allowed = "later" as const
  settled = false
  private verdict: Verdict | undefined
  private waiter: ((verdict: Verdict) => void) | undefined
  readonly deadline: number
  readonly key: string
  constructor(deadline: number, key: string) {
    this.deadline = deadline
    this.key = key
  }

  wait(then: (verdict: Verdict) => void): void {
    if (this.verdict === undefined) this.waiter = then
    else then(this.verdict)
  }

  settle(verdict: Verdict): void {
    this.settled = true
    this.verdict = verdict
    this.waiter?.(verdict)
  }
}

/** The verdict the data path reads, from the store's (or the fallback's). */
const verdictOf = (verdict: GcraVerdict): Verdict =>
  verdict.allowed ? allowed : { allowed: false, retryAfterSeconds: retryAfterSeconds(verdict.retryAfterMs) }

/** The connection, its reconnection and its logging; destroyed (never waiting on Redis) when the scope closes. */
const connect = Effect.fnUntraced(function*(url: string, onError: OnError) {
  const { createClient } = yield* Effect.promise(() => import("redis"))
  const run = Effect.runForkWith(yield* Effect.context())
  const where = redacted(url)
  const redis = createClient({
    url,
    disableOfflineQueue: true,
    commandsQueueMaxLength: maxQueuedCommands,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries) => reconnectDelayMs(retries, Math.random())
    }
  })
  // One line per change of state, not one per failed reconnection; without an `error` listener
  // node-redis's errors would end the process.
  let reachable: boolean | undefined
  redis.on("error", (error: unknown) => {
    if (reachable === false) return
    reachable = false
    const message = error instanceof Error ? error.message : String(error)
    run(
      Effect.logWarning(
        `rate-limit store ${where} unreachable (${message}); requests follow onError: ${onError} until it is back`
      )
    )
  })
  redis.on("ready", () => {
    if (reachable === true) return
    reachable = true
    run(Effect.logInfo(`rate-limit store ${where} connected`))
  })
  yield* Effect.acquireRelease(
    Effect.callback<void>((resume) => {
      const settled = () => {
        redis.off("ready", settled)
        redis.off("error", settled)
        resume(Effect.void)
      }
      redis.on("ready", settled)
      redis.on("error", settled)
      // Pending until the first success, then done; a destroyed client rejects it.
      redis.connect().catch(() => undefined)
      return Effect.sync(() => {
        redis.off("ready", settled)
        redis.off("error", settled)
      })
    }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(connectTimeoutMs), orElse: () => Effect.void })),
    () => Effect.sync(() => redis.destroy())
  )
  return redis
})

export const RedisRateLimiterLive = Layer.effect(
  RateLimiter,
  Effect.gen(function*() {
    const { rateLimit } = yield* ProxyConfig
    const store = rateLimit?.store
    if (rateLimit === undefined || store === undefined) return RateLimiter.of(unlimited)
    const clock = yield* Clock.Clock
    const limits = limitsOf(rateLimit)
    const local = yield* sweptBuckets(limits)
    const [interval, burst] = gcraArguments(limits)
    const timeoutMs = Duration.toMillis(store.timeout)
    const fallback = verdictOf(whenStoreFails(store.onError))
    const run = Effect.runForkWith(yield* Effect.context())
    const redis = yield* connect(store.redis, store.onError)
    const { ErrorReply } = yield* Effect.promise(() => import("redis"))
    let rejected = 0
    let storeErrors = 0

    const counted = (verdict: Verdict): Verdict => {
      if (!verdict.allowed) rejected++
      return verdict
    }
    const settle = (ask: Ask, verdict: Verdict) => {
      if (!ask.settled) ask.settle(counted(verdict))
    }
    /** The store could not answer this request (in time). */
    const storeFailed = (): Verdict => {
      storeErrors++
      return counted(fallback)
    }
    const failed = (ask: Ask) => {
      if (!ask.settled) ask.settle(storeFailed())
    }
    const answered = (ask: Ask, reply: unknown) => {
      const verdict = decodeGcraReply(reply)
      if (verdict === undefined) failed(ask)
      else settle(ask, verdictOf(verdict))
    }
    // A reply error is no outage (the connection is up) and would repeat on every request: say it
    // once in a while, so a store that fails every request is not only a counter.
    let lastReplyError = { message: "", at: Number.NEGATIVE_INFINITY }
    const replyError = (error: Error) => {
      const at = clock.currentTimeMillisUnsafe()
      if (error.message === lastReplyError.message && at - lastReplyError.at < replyErrorLogMs) return
      lastReplyError = { message: error.message, at }
      run(
        Effect.logWarning(
          `rate-limit store answered an error (${error.message}); requests follow onError: ${store.onError}`
        )
      )
    }
    const evaluate = (ask: Ask, command: "EVALSHA" | "EVAL") => {
      redis.sendCommand([command, command === "EVALSHA" ? gcraSha : gcraScript, "1", ask.key, interval, burst]).then(
        (reply) => answered(ask, reply),
        (error: unknown) => {
          // Redis forgets scripts when it restarts: the first ask after that sends the script itself.
          const unknownScript = command === "EVALSHA" && error instanceof Error && error.message.startsWith("NOSCRIPT")
          if (unknownScript && !ask.settled) return evaluate(ask, "EVAL")
          if (error instanceof ErrorReply) replyError(error)
          failed(ask)
        }
      )
    }

    // One timer for every ask in flight: asks fall due in the order they were made.
    const pending = makeDeadlineQueue<Ask>()
    let timer: Fiber.Fiber<void> | undefined
    const expire = () => {
      timer = undefined
      const next = pending.expire(clock.currentTimeMillisUnsafe(), failed)
      if (next !== undefined) arm(next)
    }
    const arm = (deadline: number) => {
      const delay = Duration.millis(Math.max(0, deadline - clock.currentTimeMillisUnsafe()))
      timer = run(clock.sleep(delay).pipe(Effect.andThen(Effect.sync(expire))))
    }
    yield* Effect.addFinalizer(() => timer === undefined ? Effect.void : Fiber.interrupt(timer))

    return RateLimiter.of({
      admit: (client) => {
        const now = clock.currentTimeMillisUnsafe()
        const own = takeToken(local, limits, client, now)
        if (!own.allowed) return counted(own)
        if (!redis.isReady) return storeFailed()
        const ask = new Ask(now + timeoutMs, keyPrefix + client)
        pending.add(ask)
        if (timer === undefined) arm(ask.deadline)
        evaluate(ask, "EVALSHA")
        return ask
      },
      rejected: () => rejected,
      storeErrors: () => storeErrors,
      tracked: local.size
    })
  })
)

/**
 * The limiter of a process that serves requests: with `rateLimit.store`, Redis's (shared by every
 * instance and worker, so no lease from a supervisor is needed); otherwise `own`.
 */
export const withRateLimitStore = <R>(own: Layer.Layer<RateLimiter, never, R>) =>
  Layer.unwrap(
    Effect.map(ProxyConfig, (config): Layer.Layer<RateLimiter, never, R | ProxyConfig> =>
      config.rateLimit?.store === undefined ? own : RedisRateLimiterLive)
  )
