/**
 * Random: each request goes to a selectable backend drawn uniformly, weights ignored (nginx's
 * `random` balancer with equal weights; `weighted-random` honours them). No state is shared
 * between picks, so it suits many proxies in front of the same pool: they cannot fall into step
 * with each other the way round robins started together can. Over many picks each backend gets
 * 1/n of the traffic, give or take the binomial spread.
 *
 * A pick draws once over the whole pool; only when that draw lands on a backend that may not be
 * used does it count the selectable ones and draw again among them, so the result is uniform among
 * the selectable backends either way.
 */
import { isSelectable } from "../Availability.ts"
import { countSelectable, drawIndex, nthSelectable } from "./Selectable.ts"
import type { Strategy } from "./Strategy.ts"

export const Random: Strategy = {
  name: "random",
  summary: "uniform among the selectable backends",
  build: (_pool, env) => ({
    pick: (pool, _facts, excluded) => {
      const n = pool.length
      if (n === 0) return undefined
      const first = pool[drawIndex(env.random(), n)]
      if (first !== undefined && isSelectable(first, excluded)) return first
      const count = countSelectable(pool, excluded)
      return count === 0 ? undefined : pool[nthSelectable(pool, excluded, drawIndex(env.random(), count))]
    }
  })
}
