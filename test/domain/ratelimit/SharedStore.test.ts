/**
 * Around the shared store: what a request gets when the store cannot answer, and the waits
 * between reconnection attempts.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  reconnectBaseMs,
  reconnectCapMs,
  reconnectDelayMs,
  whenStoreFails
} from "../../../src/domain/ratelimit/SharedStore.ts"

describe("shared store", () => {
  it("onError allow admits; deny refuses for a second", () => {
    assert.deepStrictEqual(whenStoreFails("allow"), { allowed: true })
    assert.deepStrictEqual(whenStoreFails("deny"), { allowed: false, retryAfterMs: 1_000 })
  })

  it("reconnection waits double from 50 ms up to 1 s (jitter at its middle)", () => {
    assert.deepStrictEqual(
      [0, 1, 2, 3, 4, 5, 6, 100].map((retries) => reconnectDelayMs(retries, 0.5)),
      [50, 100, 200, 400, 800, 1_000, 1_000, 1_000]
    )
  })

  it("every wait is within 0.8–1.2 of the capped exponential, never more than 1.2 s", () =>
    fc.assert(fc.property(fc.nat(10_000), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
      const plain = Math.min(reconnectCapMs, reconnectBaseMs * 2 ** Math.min(n, 30))
      const delay = reconnectDelayMs(n, r)
      assert.isAtLeast(delay, Math.floor(plain * 0.8))
      assert.isAtMost(delay, Math.ceil(plain * 1.2))
      assert.isAtMost(delay, 1_200)
    })))
})
