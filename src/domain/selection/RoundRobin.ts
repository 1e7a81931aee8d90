/**
 * Round robin: each backend in turn. An unavailable backend is skipped and the rotation goes on
 * from the one chosen, so over any run of picks on a steady pool the counts differ by at most one.
 */
import { isSelectable } from "../Availability.ts"
import type { Strategy } from "./Strategy.ts"

export const RoundRobin: Strategy = {
  name: "round-robin",
  summary: "each backend in turn",
  build: () => {
    let next = 0
    return {
      pick: (pool, _facts, excluded) => {
        const n = pool.length
        for (let tried = 0; tried < n; tried++) {
          const index = (next + tried) % n
          const candidate = pool[index]
          if (candidate !== undefined && isSelectable(candidate, excluded)) {
            next = (index + 1) % n
            return candidate
          }
        }
        return undefined
      }
    }
  }
}
