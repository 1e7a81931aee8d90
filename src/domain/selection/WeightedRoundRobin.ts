/**
 * Smooth weighted round robin, as in nginx (`ngx_http_upstream_get_peer`): every pick adds each
 * selectable backend's weight to its running score, takes the highest score and subtracts the sum
 * of the weights from it. Over a full cycle each backend gets exactly its weight's share, spread
 * out rather than in bursts: weights 5/1/1 give `a a b a c a a`, never five `a` in a row. A
 * backend warming up (slow start) adds the part of its weight it has reached.
 */
import { isSelectable } from "../Availability.ts"
import type { Strategy } from "./Strategy.ts"
import { currentWeight } from "./Weights.ts"

export const WeightedRoundRobin: Strategy = {
  name: "weighted-round-robin",
  summary: "smooth weighted rotation (nginx): each backend's share equals its weight",
  build: (pool) => {
    const score = new Float64Array(pool.length)
    return {
      pick: (backends, _facts, excluded) => {
        let best = -1
        let total = 0
        for (let i = 0; i < backends.length; i++) {
          const candidate = backends[i]
          if (candidate === undefined || !isSelectable(candidate, excluded)) continue
          const weight = currentWeight(candidate)
          score[i] = (score[i] ?? 0) + weight
          total += weight
          if (best === -1 || (score[i] ?? 0) > (score[best] ?? 0)) best = i
        }
        if (best === -1) return undefined
        score[best] = (score[best] ?? 0) - total
        return backends[best]
      }
    }
  }
}
