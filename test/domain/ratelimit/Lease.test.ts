/**
 * Leases never grant a token twice: whatever the workers ask, in whatever order, the tokens they
 * are granted stay within what one bucket would have admitted (`burst` plus the refill).
 */
import { describe, it } from "@effect/vitest"
import fc from "fast-check"
import { giveBack, grant, leaseSize, noLease, received, spend } from "../../../src/domain/ratelimit/Lease.ts"
import { full } from "../../../src/domain/ratelimit/TokenBucket.ts"

const limits = { ratePerSecond: 5, burst: 10 }

describe("rate-limit leases", () => {
  it("grant no more than one bucket holds, however the asks interleave", () =>
    fc.assert(fc.property(
      fc.array(fc.record({ dt: fc.nat(300), wanted: fc.integer({ min: 1, max: 6 }), back: fc.nat(2) }), {
        maxLength: 100
      }),
      (asks) => {
        let bucket = full(limits, 0)
        let now = 0
        let granted = 0
        let returned = 0
        for (const { back, dt, wanted } of asks) {
          now += dt
          const answer = grant(bucket, now, limits, wanted)
          bucket = answer.bucket
          granted += answer.granted
          const giving = Math.min(back, answer.granted)
          bucket = giveBack(bucket, now, limits, giving)
          returned += giving
          if (answer.granted > wanted || (answer.granted === 0 && answer.retryAfterMs <= 0)) return false
        }
        return granted - returned <= limits.burst + (now / 1000) * limits.ratePerSecond + 1e-9
      }
    )))

  it("spends a lease locally, asks ahead only for leases of more than one token, and waits when empty", () => {
    const size = leaseSize(limits, 3)
    let lease = received(noLease(0), 0, size, 0)
    const first = spend(lease, 1, size)
    if (first._tag !== "Spent") throw new Error("a token was there")
    lease = first.lease
    const waiting = spend(noLease(0), 1, 1)
    if (waiting._tag !== "Wait" || !waiting.ask) throw new Error("no lease: wait and ask")
    const again = spend(waiting.lease, 2, 1)
    if (again._tag !== "Wait" || again.ask) throw new Error("asked already: only wait")
    const empty = spend(received(again.lease, 3, 0, 400), 4, 1)
    if (empty._tag !== "Empty" || empty.retryAfterMs !== 399) throw new Error("empty until the bucket refills")
  })
})
