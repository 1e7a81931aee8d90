/**
 * Power of two choices over peak-EWMA cost: draw two distinct selectable backends at random and
 * send the request to the cheaper, where cost = peak latency estimate × (in flight + 1). This is
 * Finagle's `P2CPeakEwma` and tower's `p2c` balancer over `PeakEwma` load (as linkerd uses it).
 * Mitzenmacher's "The Power of Two Choices in Randomized Load Balancing" (2001) shows why two
 * samples suffice: the most loaded of n servers carries O(log log n) over the mean instead of the
 * O(log n / log log n) of one random choice. Because it never looks for *the* best backend, many
 * proxies sharing a pool do not all herd onto the same one, and a pick costs the same at any size.
 *
 * The peak estimate jumps to a slow response at once and recovers slowly (`load/Ewma.ts`), so a
 * backend that stalls is avoided quickly; it is read decayed to the pick, as if at `env.now()`. A
 * backend never measured costs `defaultRttMs` as of its last request or its joining, decaying from
 * then. Ties go to the first of the pair. The two costs are compared by their log-costs
 * (`LogCost.ts`): no clock read.
 *
 * The draw, which tests rely on: among m candidates, one `u = env.random()` numbers an ordered
 * pair of distinct candidates, `p = ⌊u·m·(m−1)⌋`; the first is candidate `⌊p / (m−1)⌋`, the second
 * is candidate `p mod (m−1)` counted among the others. One draw where tower makes two saves a
 * draw's cost (about an `exp`'s); with the 52 random bits of a double the pairs' odds differ by
 * at most m·(m−1)/2⁵², one part in four billion at 1,000 backends. The candidates are the whole
 * pool first; if either drawn backend may not be used, they are the selectable backends, counted
 * and indexed in place (no filtered copy), with a second draw (none when only one is selectable:
 * it is taken).
 */
import type { Excluded } from "../Availability.ts"
import { isSelectable } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"
import { queueCost } from "./LogCost.ts"
import { countSelectable, drawIndex, nthSelectable } from "./Selectable.ts"
import type { SelectionEnv, Strategy } from "./Strategy.ts"

type Cost = (state: BackendState, index: number) => number

/** The first candidate of pair `pair` among `m`. */
const firstOf = (pair: number, m: number): number => Math.floor(pair / (m - 1))

/** The second candidate of pair `pair` among `m`: never the first. */
const secondOf = (pair: number, m: number): number => {
  const first = firstOf(pair, m)
  const second = pair - first * (m - 1)
  return second >= first ? second + 1 : second
}

/** Of the backends at positions `i` and `j`, the cheaper; the first on a tie. */
const cheaper = (pool: ReadonlyArray<BackendState>, i: number, j: number, costOf: Cost) => {
  const a = pool[i]
  const b = pool[j]
  if (a === undefined || b === undefined) return a ?? b
  return costOf(b, j) < costOf(a, i) ? b : a
}

/** The draw among the selectable backends only, counted in place: the uncommon path. */
const amongSelectable = (
  pool: ReadonlyArray<BackendState>,
  excluded: Excluded,
  costOf: Cost,
  env: SelectionEnv
): BackendState | undefined => {
  const count = countSelectable(pool, excluded)
  if (count === 0) return undefined
  if (count === 1) return pool[nthSelectable(pool, excluded, 0)]
  const pair = drawIndex(env.random(), count * (count - 1))
  const i = nthSelectable(pool, excluded, firstOf(pair, count))
  const j = nthSelectable(pool, excluded, secondOf(pair, count))
  return cheaper(pool, i, j, costOf)
}

export const P2cEwma: Strategy = {
  name: "p2c-ewma",
  summary: "power of two random choices by peak latency × (in flight + 1)",
  build: (built, env) => {
    const costOf = queueCost(built.length, env, (state) => state.peakLatency)
    return {
      pick: (pool, _facts, excluded) => {
        const n = pool.length
        if (n < 2) return amongSelectable(pool, excluded, costOf, env)
        const pair = drawIndex(env.random(), n * (n - 1))
        const i = firstOf(pair, n)
        const j = secondOf(pair, n)
        const a = pool[i]
        const b = pool[j]
        if (a !== undefined && b !== undefined && isSelectable(a, excluded) && isSelectable(b, excluded)) {
          return cheaper(pool, i, j, costOf)
        }
        return amongSelectable(pool, excluded, costOf, env)
      }
    }
  }
}
