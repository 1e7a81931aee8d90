import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { full, isIdle, refill, take } from "../../../src/domain/ratelimit/TokenBucket.ts"
import type { Bucket } from "../../../src/domain/ratelimit/TokenBucket.ts"

const limits = { ratePerSecond: 10, burst: 5 }

describe("token bucket", () => {
  it("lets a burst through, then one request per 1/rate seconds", () => {
    let bucket = full(limits, 0)
    const allowed: Array<boolean> = []
    for (let i = 0; i < 7; i++) {
      const decision = take(bucket, 0, limits)
      allowed.push(decision.allowed)
      bucket = decision.bucket
    }
    assert.deepStrictEqual(allowed, [true, true, true, true, true, false, false])
    const refused = take(bucket, 0, limits)
    assert.isFalse(refused.allowed)
    if (!refused.allowed) assert.closeTo(refused.retryAfterMs, 100, 1e-9)
    assert.isFalse(take(bucket, 99, limits).allowed)
    assert.isTrue(take(bucket, 100, limits).allowed)
  })

  it("refills at the rate and never above the burst", () => {
    assert.deepStrictEqual(refill({ tokens: 0, at: 0 }, 250, limits), { tokens: 2.5, at: 250 })
    assert.deepStrictEqual(refill({ tokens: 0, at: 0 }, 10_000, limits), { tokens: 5, at: 10_000 })
    assert.isTrue(isIdle({ tokens: 0, at: 0 }, 500, limits))
    assert.isFalse(isIdle({ tokens: 0, at: 0 }, 499, limits))
  })

  it("property: over any window of t seconds at most burst + rate * t requests pass", () => {
    fc.assert(fc.property(fc.array(fc.nat(2_000), { minLength: 1, maxLength: 300 }), (gaps) => {
      let bucket: Bucket = full(limits, 0)
      let now = 0
      const passed: Array<number> = []
      for (const gap of gaps) {
        now += gap
        const decision = take(bucket, now, limits)
        bucket = decision.bucket
        if (decision.allowed) passed.push(now)
      }
      for (let i = 0; i < passed.length; i++) {
        for (let j = i; j < passed.length; j++) {
          const window = ((passed[j] ?? 0) - (passed[i] ?? 0)) / 1000
          assert.isAtMost(j - i + 1, limits.burst + limits.ratePerSecond * window + 1e-9)
        }
      }
    }))
  })
})
