import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { makeRetryBudget } from "../../../src/domain/retry/RetryBudget.ts"

const settings = { percent: 20, minRetriesPerSecond: 3, windowMs: 10_000 }

describe("retry budget", () => {
  it("a quiet proxy may still make minRetriesPerSecond × window retries, and no more", () => {
    const budget = makeRetryBudget(settings)
    const allowed = Array.from({ length: 40 }, (_, i) => budget.withdraw(i * 100)).filter(Boolean).length
    assert.strictEqual(allowed, 30)
  })

  it("live traffic adds percent of its requests", () => {
    const budget = makeRetryBudget({ ...settings, minRetriesPerSecond: 0 })
    for (let i = 0; i < 50; i++) budget.deposit(i)
    const allowed = Array.from({ length: 20 }, () => budget.withdraw(60)).filter(Boolean).length
    assert.strictEqual(allowed, 10)
  })

  it("forgets requests and retries a window later", () => {
    const budget = makeRetryBudget({ ...settings, minRetriesPerSecond: 0 })
    for (let i = 0; i < 10; i++) budget.deposit(0)
    assert.isTrue(budget.withdraw(0))
    assert.isTrue(budget.withdraw(500))
    assert.isFalse(budget.withdraw(9_999))
    assert.isFalse(budget.withdraw(10_000), "the requests of the first tenth are forgotten")
    for (let i = 0; i < 5; i++) budget.deposit(20_000)
    assert.isTrue(budget.withdraw(20_000), "and so are its retries")
  })

  it("property: over the window before every retry it allows, retries ≤ percent of requests + the floor", () => {
    const action = fc.record({ retry: fc.boolean(), advance: fc.nat(3_000) })
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 100 }),
      fc.integer({ min: 0, max: 5 }),
      fc.array(action, { maxLength: 300 }),
      (percent, minRetriesPerSecond, actions) => {
        const budget = makeRetryBudget({ percent, minRetriesPerSecond, windowMs: 10_000 })
        const requests: Array<number> = []
        const retries: Array<number> = []
        let now = 0
        for (const { advance, retry } of actions) {
          now += advance
          if (!retry) {
            budget.deposit(now)
            requests.push(now)
            continue
          }
          if (!budget.withdraw(now)) continue
          retries.push(now)
          // The window the budget keeps: the ten 1 s buckets up to and including now's.
          const since = (Math.floor(now / 1_000) - 9) * 1_000
          const inWindow = (times: ReadonlyArray<number>) => times.filter((t) => t >= since).length
          assert.isAtMost(inWindow(retries), (percent / 100) * inWindow(requests) + minRetriesPerSecond * 10 + 1e-9)
        }
      }
    ))
  })
})
