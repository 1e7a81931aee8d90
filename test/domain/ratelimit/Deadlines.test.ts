/**
 * The queue of asks in flight: due ones handed over exactly once, in order; answered ones
 * dropped; the next deadline is always the first left.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { makeDeadlineQueue } from "../../../src/domain/ratelimit/Deadlines.ts"

interface Item {
  readonly id: number
  readonly deadline: number
  settled: boolean
}

const item = (id: number, deadline: number): Item => ({ id, deadline, settled: false })

describe("deadline queue", () => {
  it("hands over what is due, in order, and says when the next falls due", () => {
    const queue = makeDeadlineQueue<Item>()
    const [a, b, c, d] = [item(1, 50), item(2, 60), item(3, 60), item(4, 90)]
    for (const x of [a, b, c, d]) queue.add(x)
    const expired: Array<number> = []
    const take = (x: Item) => {
      x.settled = true
      expired.push(x.id)
    }
    assert.strictEqual(queue.expire(49, take), 50)
    assert.deepStrictEqual(expired, [])
    b.settled = true
    assert.strictEqual(queue.expire(60, take), 90)
    assert.deepStrictEqual(expired, [1, 3], "the answered one is dropped, not handed over")
    assert.strictEqual(queue.size(), 1)
    assert.isUndefined(queue.expire(1_000, take))
    assert.deepStrictEqual(expired, [1, 3, 4])
    assert.strictEqual(queue.size(), 0)
  })

  it("thousands taken off the front leave the rest in order", () => {
    const queue = makeDeadlineQueue<Item>()
    for (let id = 0; id < 5_000; id++) queue.add(item(id, id))
    const expired: Array<number> = []
    const take = (x: Item) => {
      expired.push(x.id)
    }
    assert.strictEqual(queue.expire(2_999, take), 3_000)
    queue.add(item(5_000, 5_000))
    assert.strictEqual(queue.size(), 2_001)
    assert.isUndefined(queue.expire(5_000, take))
    assert.deepStrictEqual(expired, Array.from({ length: 5_001 }, (_, id) => id))
  })

  it("whatever is answered meanwhile, each unanswered item is handed over once, when due, in order", () =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.nat(20), answerAfter: fc.option(fc.nat(100)) }), { maxLength: 3_000 }),
        fc.array(fc.nat(30), { minLength: 1, maxLength: 200 }),
        (asks, steps) => {
          const timeout = 50
          const queue = makeDeadlineQueue<Item>()
          const items: Array<Item & { readonly answerAt: number | undefined }> = []
          let at = 0
          asks.forEach(({ answerAfter, gap }, id) => {
            at += gap
            const x = { ...item(id, at + timeout), answerAt: answerAfter === null ? undefined : at + answerAfter }
            items.push(x)
            queue.add(x)
          })
          const handed: Array<number> = []
          let now = 0
          for (const step of [...steps, Infinity]) {
            now += step
            for (const x of items) {
              if (x.answerAt !== undefined && x.answerAt < x.deadline && x.answerAt <= now) x.settled = true
            }
            const next = queue.expire(now, (x) => {
              assert.isFalse(x.settled)
              assert.isAtMost(x.deadline, now)
              x.settled = true
              handed.push(x.id)
            })
            if (next !== undefined) assert.isAbove(next, now)
          }
          const unanswered = items.filter((x) => x.answerAt === undefined || x.answerAt >= x.deadline).map((x) => x.id)
          assert.deepStrictEqual(handed, unanswered)
          assert.strictEqual(queue.size(), 0)
        }
      ),
      { numRuns: 200 }
    ))
})
