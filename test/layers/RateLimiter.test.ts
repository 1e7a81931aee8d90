/**
 * The per-client limiter under TestClock: refill timing, Retry-After, and forgetting idle
 * clients so memory stays bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { RateLimiterLive } from "../../src/layers/RateLimiterLive.ts"
import { RateLimiter } from "../../src/services/RateLimiter.ts"

const limiter = (rateLimit: Record<string, number>) =>
  Layer.build(RateLimiterLive.pipe(Layer.provide(ProxyConfigLive.fromObject({
    backends: [{ url: "http://127.0.0.1:1" }],
    rateLimit
  })))).pipe(Effect.map((context) => Context.get(context, RateLimiter)))

describe("rate limiter", () => {
  it.effect("each client gets its own bucket, refilled on the clock", () =>
    Effect.gen(function*() {
      const limit = yield* limiter({ requestsPerSecond: 2, burst: 3 })
      const allowed = (client: string) => limit.admit(client).allowed
      assert.deepStrictEqual([1, 2, 3, 4].map(() => allowed("10.0.0.1")), [true, true, true, false])
      assert.isTrue(allowed("10.0.0.2"), "another client is not affected")
      assert.deepStrictEqual(limit.admit("10.0.0.1"), { allowed: false, retryAfterSeconds: 1 })
      yield* TestClock.adjust("499 millis")
      assert.isFalse(allowed("10.0.0.1"))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(allowed("10.0.0.1"))
      assert.strictEqual(limit.rejected(), 3)
    }))

  it.effect("clients quiet long enough to refill are forgotten", () =>
    Effect.gen(function*() {
      const limit = yield* limiter({ requestsPerSecond: 1, burst: 2 })
      for (let i = 0; i < 1_000; i++) limit.admit(`10.0.${Math.floor(i / 250)}.${i % 250}`)
      assert.strictEqual(limit.tracked(), 1_000)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(limit.tracked(), 0)
      limit.admit("10.9.9.9")
      assert.strictEqual(limit.tracked(), 1)
    }))

  it.effect("without a rateLimit section every request is admitted and nothing is tracked", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(RateLimiterLive.pipe(Layer.provide(ProxyConfigLive.fromObject({
        backends: [{ url: "http://127.0.0.1:1" }]
      }))))
      const limit = Context.get(context, RateLimiter)
      for (let i = 0; i < 100; i++) assert.isTrue(limit.admit("10.0.0.1").allowed)
      assert.strictEqual(limit.tracked(), 0)
    }))
})
