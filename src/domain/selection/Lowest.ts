/**
 * The scan the `least-*` strategies share: the selectable backend with the lowest score, with
 * ties taking turns. Each scan starts just after the previous winner and only a strictly lower
 * score displaces the first one found, so equally loaded backends rotate (nginx's `least_conn`
 * likewise falls back to round robin among equals). Always taking the first of equals would send
 * every request of a quiet period, when all in-flight counts are 0, to the first backend.
 *
 * Two shortcuts keep a pick cheap without changing its answer:
 * - a backend is asked whether it is selectable only when its score would win (the question
 *   costs more than most scores);
 * - no score is below `floor`, so a selectable backend scoring it ends the scan.
 * Scores that cost more than a field read keep their own per-position caches (`LogCost.ts`).
 */
import { isSelectable } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"
import type { SelectionEnv, Strategy } from "./Strategy.ts"

/** Lower is better. `index` is the backend's position in the pool, for a score's cache. */
export type Score = (state: BackendState, index: number) => number

/** A `build` that picks by lowest score; `scoreFor` makes the score for a pool of `size`. */
export const lowestScore = (
  scoreFor: (size: number, env: SelectionEnv) => Score,
  floor: number
): Strategy["build"] =>
(built, env) => {
  const score = scoreFor(built.length, env)
  let next = 0
  return {
    pick: (pool, _facts, excluded) => {
      const n = pool.length
      let best: BackendState | undefined = undefined
      let bestIndex = 0
      let bestScore = Number.POSITIVE_INFINITY
      const start = next < n ? next : 0
      for (let tried = 0; tried < n; tried++) {
        const index = start + tried < n ? start + tried : start + tried - n
        const state = pool[index]
        if (state === undefined) continue
        const value = score(state, index)
        if ((best === undefined || value < bestScore) && isSelectable(state, excluded)) {
          best = state
          bestIndex = index
          bestScore = value
          if (value <= floor) break
        }
      }
      if (best !== undefined) next = bestIndex + 1 === n ? 0 : bestIndex + 1
      return best
    }
  }
}
