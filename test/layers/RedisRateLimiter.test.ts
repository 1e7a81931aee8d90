/**
 * The Redis limiter against a real redis-server: the script's verdicts (one bucket per client
 * across limiters, exact bursts, Retry-After, keys that expire), and what a request gets when
 * Redis is down, stuck or restarted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, References } from "effect"
import { createClient } from "redis"
import { keyPrefix } from "../../src/domain/ratelimit/Gcra.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { RedisRateLimiterLive } from "../../src/layers/RedisRateLimiterLive.ts"
import { RateLimiter } from "../../src/services/RateLimiter.ts"
import type { RateLimiterShape, Verdict } from "../../src/services/RateLimiter.ts"
import type { RunningRedis } from "../support/Redis.ts"
import { startRedis } from "../support/Redis.ts"

interface Limits {
  readonly requestsPerSecond: number
  readonly burst: number
  readonly timeout?: string
  readonly onError?: "allow" | "deny"
}

/**
 * A limiter on `redis`. Its timeout is 1 s unless a test is about the timeout: on a loaded
 * machine a round trip to a Redis that is up can take longer than the default 50 ms.
 */
const limiter = (redis: RunningRedis, { requestsPerSecond, burst, ...store }: Limits) =>
  Layer.build(RedisRateLimiterLive.pipe(Layer.provide(ProxyConfigLive.fromObject({
    backends: [{ url: "http://127.0.0.1:1" }],
    logging: { level: "error" },
    rateLimit: { requestsPerSecond, burst, store: { redis: redis.url, timeout: "1s", ...store } }
  })))).pipe(
    Effect.map((context) => Context.get(context, RateLimiter)),
    Effect.provideService(References.MinimumLogLevel, "Error")
  )

/** The verdict, waited for when it comes later. */
const ask = (limit: RateLimiterShape, client: string) =>
  Effect.callback<Verdict>((resume) => {
    const admission = limit.admit(client)
    if (admission.allowed === "later") admission.wait((verdict) => resume(Effect.succeed(verdict)))
    else resume(Effect.succeed(admission))
  })

/** `count` asks at once (one pipeline), how many were admitted. */
const admitted = (limit: RateLimiterShape, client: string, count: number) =>
  Effect.all(Array.from({ length: count }, () => ask(limit, client)), { concurrency: "unbounded" }).pipe(
    Effect.map((verdicts) => verdicts.filter((verdict) => verdict.allowed).length)
  )

/**
 * Until Redis answers the limiter again: an ask that is no store error (each of a client of its
 * own, so the local bucket stays out of it). At most 5 s.
 */
const reconnected = (limit: RateLimiterShape) =>
  Effect.gen(function*() {
    for (let probe = 0; probe < 250; probe++) {
      const before = limit.storeErrors()
      yield* ask(limit, `10.255.0.${probe}`)
      if (limit.storeErrors() === before) return
      yield* Effect.sleep("20 millis")
    }
    return assert.fail("Redis did not answer the limiter again")
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const value = yield* effect
    return { value, ms: performance.now() - started }
  })

/** A plain connection to the same Redis, to look at what the limiter left there. */
const inspect = (redis: RunningRedis) =>
  Effect.acquireRelease(
    Effect.promise(() => createClient({ url: redis.url }).connect()),
    (client) => Effect.sync(() => client.destroy())
  )

describe("Redis rate limiter", () => {
  it.live("two limiters on one Redis share each client's bucket: the burst once, not twice", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const one = yield* limiter(redis, { requestsPerSecond: 1, burst: 5 })
      const two = yield* limiter(redis, { requestsPerSecond: 1, burst: 5 })
      const first = yield* admitted(one, "10.0.0.1", 4)
      const second = yield* admitted(two, "10.0.0.1", 4)
      assert.deepStrictEqual([first, second], [4, 1])
      const refused = yield* ask(one, "10.0.0.1")
      assert.deepStrictEqual(refused, { allowed: false, retryAfterSeconds: 1 })
      assert.strictEqual(yield* admitted(two, "10.0.0.2", 5), 5, "another client has its own bucket")
      assert.deepStrictEqual([one.rejected(), two.rejected()], [1, 3])
      assert.deepStrictEqual([one.storeErrors(), two.storeErrors()], [0, 0])
    }))

  it.live("a key lives until its bucket is full again, and is named by the client", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 10, burst: 20 })
      const client = yield* inspect(redis)
      const asked = yield* timed(admitted(limit, "10.0.0.7", 3))
      assert.strictEqual(asked.value, 3)
      // Three requests at 10 per second: full again 300 ms after the first.
      const ttl = yield* timed(Effect.promise(() => client.pTTL(`${keyPrefix}10.0.0.7`)))
      assert.isAtMost(ttl.value, 300)
      assert.isAtLeast(ttl.value, 300 - Math.ceil(asked.ms + ttl.ms) - 1)
      assert.deepStrictEqual(yield* Effect.promise(() => client.keys(`${keyPrefix}*`)), [`${keyPrefix}10.0.0.7`])
    }))

  it.live("the refill runs on Redis's clock: after one interval, one more request", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 2, burst: 2 })
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 4), 2)
      yield* Effect.sleep("550 millis")
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 3), 1)
    }))

  it.live("a limit far above any rate admits everything, without a store error", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 1_000_000_000, burst: 1_000_000_000 })
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 50), 50)
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 50), 50)
      assert.deepStrictEqual([limit.storeErrors(), limit.rejected()], [0, 0])
    }))

  it.live("a Redis that forgot the script (restarted, SCRIPT FLUSH) is sent it again", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 1, burst: 3 })
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 1), 1)
      const client = yield* inspect(redis)
      yield* Effect.promise(() => client.scriptFlush())
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 3), 2)
      assert.strictEqual(limit.storeErrors(), 0)
    }))

  it.live("Redis down: at once onError (allow), counted, still held to the local bucket; back: shared again", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 1, burst: 3 })
      const other = yield* limiter(redis, { requestsPerSecond: 1, burst: 3 })
      assert.strictEqual(yield* admitted(other, "10.0.0.1", 3), 3)
      yield* redis.kill
      const down = yield* timed(admitted(limit, "10.0.0.1", 5))
      assert.strictEqual(down.value, 3, "the local bucket's burst, not more")
      assert.isBelow(down.ms, 250, "at once, not after the 1 s timeout")
      assert.strictEqual(limit.storeErrors(), 3)
      assert.strictEqual(limit.rejected(), 2)
      yield* redis.restart
      yield* reconnected(limit)
      yield* reconnected(other)
      // A fresh Redis: the shared bucket is full again, and both limiters spend it together.
      assert.strictEqual(yield* admitted(other, "10.0.0.2", 2), 2)
      assert.strictEqual(yield* admitted(limit, "10.0.0.2", 3), 1)
    }))

  it.live("Redis down with onError deny: 429 at once, counted both ways", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 1, burst: 3, onError: "deny" })
      yield* redis.kill
      const verdict = yield* ask(limit, "10.0.0.1")
      assert.deepStrictEqual(verdict, { allowed: false, retryAfterSeconds: 1 })
      assert.deepStrictEqual([limit.storeErrors(), limit.rejected()], [1, 1])
    }))

  it.live("Redis stuck: each ask follows onError once its timeout has passed, not later", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const limit = yield* limiter(redis, { requestsPerSecond: 100, burst: 100, timeout: "40ms" })
      assert.strictEqual(yield* admitted(limit, "10.0.0.1", 1), 1)
      yield* redis.pause
      const stuck = yield* timed(admitted(limit, "10.0.0.1", 20))
      assert.strictEqual(stuck.value, 20)
      assert.isAtLeast(stuck.ms, 35)
      assert.isBelow(stuck.ms, 40 + 400, "the timeout and some slack for a loaded machine")
      assert.strictEqual(limit.storeErrors(), 20)
      yield* redis.resume
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual([limit.storeErrors(), limit.rejected()], [20, 0], "late answers change nothing")
      yield* reconnected(limit)
    }))

  it.live("Redis not there at start: the limiter starts anyway and serves on onError", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      yield* redis.kill
      const started = yield* timed(limiter(redis, { requestsPerSecond: 1, burst: 2, onError: "deny" }))
      assert.isBelow(started.ms, 1_000)
      assert.deepStrictEqual(yield* ask(started.value, "10.0.0.1"), { allowed: false, retryAfterSeconds: 1 })
      yield* redis.restart
      yield* reconnected(started.value)
    }))
})
