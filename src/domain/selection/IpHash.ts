/**
 * IP hash: the client address, hashed, chooses the backend, so one client keeps reaching the same
 * backend (sessions held in a backend's memory, warm per-user caches) for as long as the pool does
 * not change. After nginx's `ip_hash`: the hash is placed on the line of cumulative weights, so
 * shares follow the weights. Two deliberate differences: nginx hashes only the first three octets
 * of an IPv4 address (a whole /24 lands together), this hashes the whole address (`Hash.ts`); and
 * where nginx re-hashes up to 20 times when the chosen peer is down, this walks forward in pool
 * order to the first selectable backend: bounded and deterministic, at the price that a down
 * backend's clients all land on its next neighbour instead of spreading. They return to their own
 * backend as soon as it is selectable again.
 *
 * The address is the socket peer, or the first `X-Forwarded-For` hop only when `trustProxy` is
 * set (the exchange decides). Any change in membership or weights re-deals most clients, as in
 * nginx; `consistent-hash` is the choice when backends come and go.
 */
import { isSelectable } from "../Availability.ts"
import { hash32 } from "./Hash.ts"
import type { Strategy } from "./Strategy.ts"
import { configuredWeight, cumulativeWeights, indexAt } from "./Weights.ts"

export const IpHash: Strategy = {
  name: "ip-hash",
  summary: "the client address chooses the backend (nginx ip_hash)",
  build: (built) => {
    const sums = cumulativeWeights(built, configuredWeight)
    const total = sums[sums.length - 1] ?? 0
    // hash × total / 2³² places the hash on the weight line without a floating-point modulo.
    const scale = total / 2 ** 32
    return {
      pick: (pool, facts, excluded) => {
        const n = pool.length
        if (n === 0 || total <= 0) return undefined
        let index = indexAt(sums, hash32(facts.clientAddress) * scale)
        for (let tried = 0; tried < n; tried++, index = index + 1 === n ? 0 : index + 1) {
          const state = pool[index]
          if (state !== undefined && isSelectable(state, excluded)) return state
        }
        return undefined
      }
    }
  }
}
