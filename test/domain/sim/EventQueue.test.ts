/** The agenda: earliest first, and at the same instant in the order scheduled. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { makeEventQueue } from "../../../src/domain/sim/EventQueue.ts"

describe("event queue", () => {
  it("is empty at Infinity", () => {
    const queue = makeEventQueue<string>()
    assert.strictEqual(queue.nextAt(), Number.POSITIVE_INFINITY)
    assert.strictEqual(queue.pop(), undefined)
  })

  it("property: pops by time, ties in the order they were pushed (a stable sort)", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
      const queue = makeEventQueue<number>()
      times.forEach((at, index) => queue.push(at, index))
      const popped: Array<number> = []
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next.value)
      const expected = times.map((at, index) => ({ at, index })).sort((a, b) => a.at - b.at || a.index - b.index)
      assert.deepStrictEqual(popped, expected.map((entry) => entry.index))
    }))
  })

  it("property: pushing while popping keeps the order", () => {
    fc.assert(fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 100 }), (gaps) => {
      const queue = makeEventQueue<number>()
      queue.push(0, 0)
      let last = -1
      let i = 0
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
        if (next.at < last) return false
        last = next.at
        const gap = gaps[i++]
        if (gap !== undefined) queue.push(next.at + gap, i)
      }
      return true
    }))
  })
})
