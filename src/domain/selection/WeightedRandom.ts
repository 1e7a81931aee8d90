/**
 * Weighted random: a selectable backend drawn with probability proportional to its weight, as
 * nginx's `random` balancer does (it too draws a point below the total weight and finds its peer
 * in a table of cumulative ranges, `ngx_http_upstream_peek_random_peer`). Stateless
 * like `random`, so independent proxies never fall into step; the shares hold on average, not
 * exactly over a cycle as with `weighted-round-robin`.
 *
 * The cumulative weights are built once per backend set; a pick draws a point below the total and
 * finds its backend. When that backend may not be used, the pick sums the weights of the
 * selectable ones and draws again on that shorter line, so the result is proportional to weight
 * among the selectable backends either way. A backend warming up (slow start) counts the part of
 * its weight it has reached; the registry rebuilds the table at each step of the ramp.
 */
import { isSelectable } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"
import type { Strategy } from "./Strategy.ts"
import { cumulativeWeights, currentWeight, indexAt } from "./Weights.ts"

export const WeightedRandom: Strategy = {
  name: "weighted-random",
  summary: "random, with probability proportional to weight",
  build: (built, env) => {
    const sums = cumulativeWeights(built, currentWeight)
    const total = sums[sums.length - 1] ?? 0
    return {
      pick: (pool, _facts, excluded) => {
        if (total <= 0) return undefined
        const first = pool[indexAt(sums, env.random() * total)]
        if (first !== undefined && isSelectable(first, excluded)) return first
        let selectableTotal = 0
        for (let i = 0; i < pool.length; i++) {
          const state = pool[i]
          if (state !== undefined && isSelectable(state, excluded)) selectableTotal += currentWeight(state)
        }
        if (selectableTotal <= 0) return undefined
        let point = env.random() * selectableTotal
        let last: BackendState | undefined = undefined
        for (let i = 0; i < pool.length; i++) {
          const state = pool[i]
          if (state === undefined || !isSelectable(state, excluded)) continue
          const weight = currentWeight(state)
          if (point < weight) return state
          point -= weight
          last = state
        }
        // Rounding in the subtractions can leave the point just past the last share.
        return last
      }
    }
  }
}
