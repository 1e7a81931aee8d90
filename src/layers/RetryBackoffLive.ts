/**
 * `RetryBackoff` from the config's `retry` section. The schedule is stepped synchronously on the
 * context the layer was built in, so its jitter draws from that context's `Random`: seeded in
 * tests and in the strategy lab, which makes every delay exact.
 */
import { Duration, Effect, Exit, Layer, Schedule } from "effect"
import { retrySchedule } from "../domain/retry/RetryPolicy.ts"
import type { Backoff } from "../domain/retry/RetryPolicy.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RetryBackoff } from "../services/RetryBackoff.ts"

export const RetryBackoffLive = Layer.effect(
  RetryBackoff,
  Effect.gen(function*() {
    const { retry } = yield* ProxyConfig
    const context = yield* Effect.context()
    const schedule = retrySchedule(retry)
    return RetryBackoff.of({
      fresh: (): Backoff => {
        const step = Effect.runSyncWith(context)(Schedule.toStep(schedule))
        return (now, failed) => {
          const exit = Effect.runSyncExitWith(context)(step(now, failed))
          return Exit.isSuccess(exit) ? Duration.toMillis(exit.value[1]) : undefined
        }
      }
    })
  })
)
