/**
 * Least dynamic score: the selectable backend with the lowest expected wait, average latency times
 * the requests it would queue behind (`cost` = `ewma × (inFlight + 1)`, the load metric of tower's
 * `PeakEwma` and Finagle's `P2CPeakEwma`), compared over every backend instead of two sampled
 * ones (NGINX Plus's `least_time` likewise weighs response time and active connections together).
 * Exact where `p2c-ewma` is probabilistic: best for small pools behind one proxy; for large pools
 * or many proxies sharing a pool, `p2c-ewma` avoids herding onto the one momentarily best backend.
 *
 * A backend never measured counts `defaultRttMs` (Finagle's and linkerd's default) as of its last
 * request or its joining, decaying from then as a measured estimate does, so it is tried while
 * others cost more than that, or once it has been left idle longer than they have. Ties take turns
 * (`Lowest.ts`). Costs are compared by their log-costs (`LogCost.ts`), with no clock read.
 */
import { queueCost } from "./LogCost.ts"
import { lowestScore } from "./Lowest.ts"
import type { Strategy } from "./Strategy.ts"

export const LeastDynamicScore: Strategy = {
  name: "least-dynamic-score",
  summary: "lowest average latency × (in flight + 1)",
  build: lowestScore((size, env) => queueCost(size, env, (state) => state.latency), Number.NEGATIVE_INFINITY)
}
