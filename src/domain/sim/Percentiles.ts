/**
 * Percentiles of latencies, by the nearest-rank method: the p-th percentile of n values is the
 * ⌈p/100 · n⌉-th smallest, so it is always one of the values measured (no interpolation to
 * explain) and the 100th is the maximum.
 */

/** Sorted ascending in place (a typed array sorts numerically and fast). */
export const sortLatencies = (values: Float64Array): Float64Array => values.sort()

/** The `p`-th percentile (0 < p ≤ 100) of values sorted ascending; 0 when there are none. */
export const percentile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0
}
