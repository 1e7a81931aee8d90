/**
 * Consistent hashing: a key taken from the request (client address, path, a header or a cookie)
 * is hashed onto a ring of points owned by the backends, and the request goes to the owner of the
 * first point clockwise from it (Karger et al., "Consistent Hashing and Random Trees", STOC 1997).
 * A key keeps its backend while the pool changes around it: removing a backend moves only that
 * backend's keys (about 1/n of them) and adding one moves keys only onto the newcomer, where
 * `ip-hash` re-deals most clients on any change. Use it for cache affinity and sticky sessions in
 * a pool whose members come and go.
 *
 * Each backend owns 160 points per unit of weight, hashed from `${name}#${i}`, as nginx's
 * `hash ... consistent` (ketama) does: the points depend on the backend's own name only, so one
 * backend's arrival or departure cannot move another's points. With 160 points a backend's share
 * of keys strays from its weight's by 5 % at the median and 20 % at the 99th percentile. The ring
 * is two sorted typed arrays (point, owner) built once per backend set; a pick hashes the key and
 * binary-searches the ring, narrowed first by a directory over the hash's top bits. When the
 * owner may not be used (unhealthy, open circuit, full, or excluded by a retry), the pick walks on
 * clockwise, checking each further backend once, so a down backend's keys spread over the others
 * in proportion to their shares instead of all landing on one neighbour.
 *
 * Bounded loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads",
 * 2018; HAProxy's `hash-balance-factor`), with `settings.balanceFactor` = `c` percent: a backend
 * may take the request only while its in-flight count is below
 *
 *   cap = ⌈c/100 · (requests in flight across the selectable backends + 1) / selectable backends⌉
 *
 * and one at the cap is walked past like one that is down. Some backend is always below the cap
 * (were all at it, they would hold at least c/100 times more than are in flight), so no backend
 * exceeds it while another can take the request, and a hot key spills over to its ring neighbours
 * instead of melting its owner; the smaller `c`, the more even the load and the less sticky the
 * keys. Summing the load visits every backend, so a bounded pick costs O(n).
 *
 * Why a ring of our own rather than Effect's `HashRing`: its `get` answers only "who owns this
 * key" and cannot walk past a backend that may not take the request, which both the health rules
 * and bounded loads need. Jump consistent hash (Lamping & Veach, 2014) needs no ring but
 * can only drop the last bucket, so it cannot lose an arbitrary backend or skip one.
 *
 * The key comes from `settings.hashKey` (config `consistentHash.key`, default `client-ip`):
 * `client-ip`, `path` (the request target as received, query included), `header:<Name>` or
 * `cookie:<name>`. A request without that header or cookie (or with an empty one) is placed by
 * its client address instead.
 */
import type { Excluded } from "../Availability.ts"
import { isSelectable } from "../Availability.ts"
import type { BackendState } from "../BackendState.ts"
import { hash32 } from "./Hash.ts"
import type { RequestFacts, Strategy } from "./Strategy.ts"

/** Points per unit of weight: nginx's and libketama's 160. */
export const pointsPerWeight = 160

/** A point and its owner's pool index sort together as one float: `hash × ownerSpan + owner`. */
const ownerSpan = 2 ** 21

/** The hash of a request's key. */
type KeyHash = (facts: RequestFacts) => number

const semicolon = 59
const space = 32

/**
 * The hash of a cookie's value in a `Cookie` header, hashed in place (no split, no slice); -1
 * when the cookie is absent or empty. `needle` is the cookie's name followed by `=`, made once at
 * build time; `indexOf` finds it several times faster than a scan by hand, and a match counts only
 * at the start of the header or after `;` or a space, so `sid` is not found inside `xsid=`.
 */
export const cookieHash = (header: string, needle: string): number => {
  let at = header.indexOf(needle)
  while (at > 0) {
    const before = header.charCodeAt(at - 1)
    if (before === space || before === semicolon) break
    at = header.indexOf(needle, at + 1)
  }
  if (at === -1) return -1
  const start = at + needle.length
  let stop = header.indexOf(";", start)
  if (stop === -1) stop = header.length
  while (stop > start && header.charCodeAt(stop - 1) === space) stop--
  return stop > start ? hash32(header, start, stop) : -1
}

const keyHash = (hashKey: string): KeyHash => {
  if (hashKey === "path") return (facts) => hash32(facts.path)
  if (hashKey.startsWith("header:")) {
    // Node keeps request header names lower-cased; config names them as people write them.
    const name = hashKey.slice("header:".length).toLowerCase()
    return (facts) => {
      const value = facts.header(name)
      return value === undefined || value === "" ? hash32(facts.clientAddress) : hash32(value)
    }
  }
  if (hashKey.startsWith("cookie:")) {
    const needle = `${hashKey.slice("cookie:".length)}=`
    return (facts) => {
      const cookies = facts.header("cookie")
      const hash = cookies === undefined ? -1 : cookieHash(cookies, needle)
      return hash === -1 ? hash32(facts.clientAddress) : hash
    }
  }
  return (facts) => hash32(facts.clientAddress)
}

/** No cap: larger than any in-flight count, and a small integer like every real cap. */
const unbounded = 2 ** 30

/** The bounded-load cap for the next request (see above); 0 when no backend is selectable. */
export const loadCap = (pool: ReadonlyArray<BackendState>, excluded: Excluded, balanceFactor: number): number => {
  let load = 0
  let selectable = 0
  for (let i = 0; i < pool.length; i++) {
    const state = pool[i]
    if (state === undefined || !isSelectable(state, excluded)) continue
    load += state.inFlight
    selectable++
  }
  return selectable === 0 ? 0 : Math.ceil((balanceFactor * (load + 1)) / (100 * selectable))
}

export const ConsistentHash: Strategy = {
  name: "consistent-hash",
  summary: "a hash ring on a request key (consistentHash.key); stable as backends come and go",
  build: (built, _env, settings) => {
    let size = 0
    for (const state of built) size += Math.max(0, state.spec.weight) * pointsPerWeight
    const packed = new Float64Array(size)
    let filled = 0
    built.forEach((state, owner) => {
      const points = Math.max(0, state.spec.weight) * pointsPerWeight
      for (let i = 0; i < points; i++) packed[filled++] = hash32(`${state.spec.name}#${i}`) * ownerSpan + owner
    })
    packed.sort()
    const ring = new Uint32Array(size)
    const owners = new Uint32Array(size)
    for (let i = 0; i < size; i++) {
      const point = packed[i] ?? 0
      owners[i] = point % ownerSpan
      ring[i] = (point - (owners[i] ?? 0)) / ownerSpan
    }

    // A directory over the top bits of the hash: `starts[b]` is the first point in bucket `b`, so
    // the binary search runs over the one or two points of the key's bucket. Over the whole ring
    // it took a dozen branches the CPU cannot predict, nearly twice the cost of a pick.
    let bits = 1
    while (bits < 16 && 2 ** bits < size) bits++
    const shift = 32 - bits
    const buckets = 2 ** bits
    const starts = new Uint32Array(buckets + 1)
    let first = 0
    for (let bucket = 0; bucket <= buckets; bucket++) {
      const floor = bucket * 2 ** shift
      while (first < size && (ring[first] ?? 0) < floor) first++
      starts[bucket] = first
    }

    const hashOf = keyHash(settings.hashKey)
    // Which backends a walk has already checked: stamped with the walk's number, so no clearing
    // and no allocation per pick.
    const checked = new Uint32Array(built.length)
    let walk = 0
    const balanceFactor = settings.balanceFactor
    let cap = unbounded
    const usable = (state: BackendState, excluded: Excluded) => state.inFlight < cap && isSelectable(state, excluded)

    return {
      pick: (pool, facts, excluded) => {
        if (size === 0) return undefined
        if (balanceFactor !== undefined) {
          cap = loadCap(pool, excluded, balanceFactor)
          if (cap === 0) return undefined
        }
        const key = hashOf(facts)
        const bucket = key >>> shift
        let low = starts[bucket] ?? 0
        let high = starts[bucket + 1] ?? size
        while (low < high) {
          const middle = (low + high) >>> 1
          if ((ring[middle] ?? 0) < key) low = middle + 1
          else high = middle
        }
        let at = low === size ? 0 : low
        const owner = pool[owners[at] ?? 0]
        if (owner !== undefined && usable(owner, excluded)) return owner

        if (walk === 0xffffffff) {
          checked.fill(0)
          walk = 0
        }
        walk++
        checked[owners[at] ?? 0] = walk
        let distinct = 1
        for (let step = 1; step < size && distinct < checked.length; step++) {
          at = at + 1 === size ? 0 : at + 1
          const index = owners[at] ?? 0
          if (checked[index] === walk) continue
          checked[index] = walk
          distinct++
          const next = pool[index]
          if (next !== undefined && usable(next, excluded)) return next
        }
        return undefined
      }
    }
  }
}
