/**
 * Least connections: the selectable backend with the fewest requests in flight, as nginx's
 * `least_conn` and HAProxy's `leastconn`. It suits requests of very uneven duration (long polls,
 * uploads, slow reports), where round robin keeps feeding a backend that is still busy. Ties take
 * turns (`Lowest.ts`), as HAProxy round-robins within a group of equally loaded servers. Weights
 * are not consulted (nginx divides the count by the weight): the in-flight count is the signal.
 */
import { lowestScore } from "./Lowest.ts"
import type { Strategy } from "./Strategy.ts"

export const LeastConnections: Strategy = {
  name: "least-connections",
  summary: "fewest requests in flight; ties take turns",
  build: lowestScore(() => (state) => state.inFlight, 0)
}
