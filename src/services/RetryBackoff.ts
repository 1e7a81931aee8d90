/**
 * Backoffs for requests that failed: each request that fails once gets a fresh one, stepped from
 * the retry `Schedule` (`domain/retry/RetryPolicy.ts`). The proxy and the strategy lab both take
 * theirs from here, so the delays they wait are the same function of the same `Random`.
 */
import { Context } from "effect"
import type { Backoff } from "../domain/retry/RetryPolicy.ts"

export interface RetryBackoffShape {
  /** A backoff for one request, from its first failure on. Synchronous: the data path calls it. */
  readonly fresh: () => Backoff
}

export class RetryBackoff extends Context.Service<RetryBackoff, RetryBackoffShape>()(
  "switchyard/services/RetryBackoff"
) {}
