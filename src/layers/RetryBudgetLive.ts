/**
 * One retry budget per pool, made when the pool first sends a request, on Effect's `Clock` (so
 * `TestClock` moves its window in tests). Without `retry.budget` every retry is allowed.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { makeRetryBudget } from "../domain/retry/RetryBudget.ts"
import type { RetryBudget as Budget } from "../domain/retry/RetryBudget.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RetryBudget } from "../services/RetryBudget.ts"

export const RetryBudgetLive = Layer.effect(
  RetryBudget,
  Effect.gen(function*() {
    const { retry } = yield* ProxyConfig
    const budget = retry.budget
    if (budget === undefined) {
      return RetryBudget.of({
        sent: () => undefined,
        allowRetry: () => true,
        exhausted: () => 0
      })
    }
    const clock = yield* Clock.Clock
    const settings = {
      percent: budget.percent,
      minRetriesPerSecond: budget.minRetriesPerSecond,
      windowMs: Duration.toMillis(budget.window)
    }
    const budgets = new Map<string, Budget>()
    const of = (pool: string): Budget => {
      let found = budgets.get(pool)
      if (found === undefined) {
        found = makeRetryBudget(settings)
        budgets.set(pool, found)
      }
      return found
    }
    let exhausted = 0
    return RetryBudget.of({
      sent: (pool) => of(pool).deposit(clock.currentTimeMillisUnsafe()),
      allowRetry: (pool) => {
        if (of(pool).withdraw(clock.currentTimeMillisUnsafe())) return true
        exhausted++
        return false
      },
      exhausted: () => exhausted
    })
  })
)
