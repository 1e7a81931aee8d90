/**
 * Least EWMA: the selectable backend with the lowest average latency, read at `env.now()` so an
 * estimate decays toward zero while nothing is observed (`load/Ewma.ts`, the time-weighted EWMA of
 * Finagle's and tower's load metrics). The latency half of NGINX Plus's `least_time`. It suits
 * pools of unequal speed under steady traffic; it ignores queueing, so under bursts prefer
 * `least-dynamic-score` or `p2c-ewma`, which multiply latency by the in-flight count.
 *
 * A backend never measured scores 0, so a new backend is tried at once rather than waiting for
 * others to look slow; ties (every backend unmeasured, at first) take turns (`Lowest.ts`).
 *
 * Estimates are compared by their log-costs (`LogCost.ts`): no clock read, no `exp`, and one `log`
 * per new state.
 */
import { estimateLog, keptPerState, warmupLog } from "./LogCost.ts"
import { lowestScore } from "./Lowest.ts"
import type { Strategy } from "./Strategy.ts"

export const LeastEwma: Strategy = {
  name: "least-ewma",
  summary: "lowest decayed average latency; unmeasured backends first",
  build: lowestScore((size, env) => {
    const since = env.now()
    return keptPerState(size, (state) =>
      state.latency === undefined
        ? Number.NEGATIVE_INFINITY
        : estimateLog(state.latency, state.policy.ewmaDecayMs, since) + warmupLog(state))
  }, Number.NEGATIVE_INFINITY)
}
