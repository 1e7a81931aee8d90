/** When a connection's stream resets are a flood rather than a client changing its mind. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  emptyTally,
  isPremature,
  isResetFlood,
  minPremature,
  prematureLifetimeMs,
  tallyClose
} from "../../../src/domain/exchange/ResetFlood.ts"
import type { StreamTally } from "../../../src/domain/exchange/ResetFlood.ts"

const tallyOf = (premature: ReadonlyArray<boolean>): StreamTally => premature.reduce(tallyClose, emptyTally)

describe("reset floods", () => {
  it("premature: reset, unanswered and young", () => {
    assert.isTrue(isPremature(true, false, 0))
    assert.isFalse(isPremature(false, false, 0), "closed normally")
    assert.isFalse(isPremature(true, true, 0), "answered first")
    assert.isFalse(isPremature(true, false, prematureLifetimeMs), "a long poll cancelled later")
  })

  it("a flood: at least minPremature premature streams, and at least half of all closed", () => {
    assert.isFalse(isResetFlood(tallyOf(Array(minPremature - 1).fill(true))))
    assert.isTrue(isResetFlood(tallyOf(Array(minPremature).fill(true))))
    const mostlyServed = tallyOf([...Array(minPremature).fill(true), ...Array(minPremature + 1).fill(false)])
    assert.isFalse(isResetFlood(mostlyServed))
  })

  it("property: the verdict depends only on the counts, never on their order", () =>
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 600 }), (closes) => {
      const tally = tallyOf(closes)
      const premature = closes.filter(Boolean).length
      assert.strictEqual(tally.closed, closes.length)
      assert.strictEqual(tally.premature, premature)
      assert.strictEqual(isResetFlood(tally), isResetFlood(tallyOf(closes.toSorted((a, b) => Number(a) - Number(b)))))
      assert.strictEqual(isResetFlood(tally), premature >= minPremature && premature * 2 >= closes.length)
    })))
})
