/**
 * Least connections: the selectable backend with the fewest requests in flight, as nginx's
 * `least_conn` and HAProxy's `leastconn`. It suits requests of very uneven duration (long polls,
 * uploads, slow reports), where round robin keeps feeding a backend that is still busy. Ties take
 * turns (`Lowest.ts`), as HAProxy round-robins within a group of equally loaded servers. Weights
 * are not consulted (nginx divides the count by the weight): the in-flight count is the signal.
 * A backend warming up (slow start) counts as if it had a fraction of a backend's capacity: at
 * `p` % its `n` in flight weigh `(n + 1) · 100/p − 1`, so one request on it weighs as much as
 * `100/p` on a warm backend.
 */
import type { BackendState } from "../BackendState.ts"
import { lowestScore } from "./Lowest.ts"
import type { Strategy } from "./Strategy.ts"

const load = (state: BackendState): number =>
  state.weightPercent >= 100 ? state.inFlight : ((state.inFlight + 1) * 100) / state.weightPercent - 1

export const LeastConnections: Strategy = {
  name: "least-connections",
  summary: "fewest requests in flight; ties take turns",
  build: lowestScore(() => load, 0)
}
