/**
 * The 32-bit string hash that `ip-hash` and `consistent-hash` place keys with: FNV-1a (Fowler,
 * Noll, Vo) over the string's UTF-16 code units, finished with MurmurHash3's `fmix32` avalanche.
 *
 * FNV-1a alone is cheap but mixes its last characters poorly, so keys that differ only at the end
 * (`10.0.0.7` and `10.0.0.8`, `b0#41` and `b0#42`) would land close together on a ring; the
 * finaliser spreads them over all 32 bits. It hashes a range of the string in place, so a cookie's
 * value can be hashed without slicing it out (no allocation per request).
 */

const fnvOffset = 0x811c9dc5
const fnvPrime = 0x01000193

/** An unsigned 32-bit hash of `text.slice(start, end)`, computed without making that slice. */
export const hash32 = (text: string, start = 0, end = text.length): number => {
  let h = fnvOffset
  for (let i = start; i < end; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), fnvPrime)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
