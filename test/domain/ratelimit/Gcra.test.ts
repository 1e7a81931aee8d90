/**
 * The script's arguments and the decoding of its reply. The script itself runs against a real
 * redis-server in test/layers/RedisRateLimiter.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { decodeGcraReply, gcraArguments } from "../../../src/domain/ratelimit/Gcra.ts"

describe("GCRA on Redis", () => {
  it("passes the interval and the burst in microseconds", () => {
    assert.deepStrictEqual(gcraArguments({ ratePerSecond: 100, burst: 200 }), ["10000", "2000000"])
    assert.deepStrictEqual(gcraArguments({ ratePerSecond: 0.5, burst: 3 }), ["2000000", "6000000"])
  })

  it("decodes the script's two replies", () => {
    assert.deepStrictEqual(decodeGcraReply([1, 0]), { allowed: true })
    assert.deepStrictEqual(decodeGcraReply([0, 250]), { allowed: false, retryAfterMs: 250 })
  })

  it("anything else is no verdict: the request then follows onError", () => {
    for (const reply of [null, "OK", [], [1], [0, 0], [2, 0], [1, "0"], ["1", 0], [0, -5], [0, Infinity], [1, 0, 0]]) {
      assert.isUndefined(decodeGcraReply(reply), JSON.stringify(reply))
    }
  })

  it("a reply is a verdict only when it says admitted, or refused for a positive wait", () =>
    fc.assert(fc.property(fc.anything(), (reply) => {
      const verdict = decodeGcraReply(reply)
      if (verdict === undefined) return
      assert.isTrue(Array.isArray(reply))
      if (!verdict.allowed) assert.isAbove(verdict.retryAfterMs, 0)
    })))
})
