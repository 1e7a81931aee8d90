import { assert, describe, it } from "@effect/vitest"
import { retryAfterMs } from "../../../src/domain/retry/RetryAfter.ts"

describe("Retry-After", () => {
  const now = Date.parse("Sun, 22 Nov 2026 12:00:00 GMT")

  it("reads seconds and HTTP dates", () => {
    assert.strictEqual(retryAfterMs("120", now), 120_000)
    assert.strictEqual(retryAfterMs(" 0 ", now), 0)
    assert.strictEqual(retryAfterMs("Sun, 22 Nov 2026 12:00:30 GMT", now), 30_000)
    assert.strictEqual(retryAfterMs("Sun, 22 Nov 2026 11:00:00 GMT", now), 0, "a date in the past means now")
    assert.strictEqual(retryAfterMs(["5", "9"], now), 5_000)
  })

  it("ignores anything else", () => {
    for (const value of [undefined, "", "-5", "1.5", "soon", "2026-11-22T12:00:30Z", "Sun, 99 Nov 2026 nonsense"]) {
      assert.isUndefined(retryAfterMs(value, now), String(value))
    }
  })
})
