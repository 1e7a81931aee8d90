/**
 * The retry budget of each pool (`retry.budget`): retries may add at most a share of the traffic
 * (`domain/retry/RetryBudget.ts`), so a failing backend cannot set off a retry storm.
 */
import { Context } from "effect"

export interface RetryBudgetShape {
  /** A client request of `pool` went to a backend. Synchronous: the data path calls it. */
  readonly sent: (pool: string) => void
  /** Whether `pool`'s budget allows one more retry now, counting it if so. Always, without a budget. */
  readonly allowRetry: (pool: string) => boolean
  /** Retries refused for want of budget so far (`lb_retry_budget_exhausted_total`). */
  readonly exhausted: () => number
}

export class RetryBudget extends Context.Service<RetryBudget, RetryBudgetShape>()("switchyard/services/RetryBudget") {}
