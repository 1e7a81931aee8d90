/**
 * Quantiles estimated from a fixed-bucket histogram the way Prometheus' `histogram_quantile`
 * does (`promql/quantile.go`, `BucketQuantile`), so the dashboard's p99 and a Grafana panel over
 * `lb_request_duration_seconds` agree: find the bucket holding the rank `q × count`, then
 * interpolate linearly inside it, as if its observations were spread evenly between its bounds.
 *
 * Gotchas, all Prometheus' own: the first bucket's lower bound is 0; a rank that falls in the
 * bucket above the last boundary answers the last boundary (nothing better is known about it);
 * an estimate is only as fine as its bucket, so it can be off by up to the bucket's width.
 */

/**
 * The `q` quantile (0 ≤ q ≤ 1; 0 answers the lower bound of the first bucket with anything in
 * it) of observations counted per bucket: `counts[i]` holds those at or
 * below `boundaries[i]` and above the boundary before it, and the one extra last slot holds those
 * above every boundary. `undefined` when nothing was counted.
 */
export const bucketQuantile = (
  q: number,
  boundaries: ReadonlyArray<number>,
  counts: ReadonlyArray<number>
): number | undefined => {
  let total = 0
  for (const count of counts) total += count
  if (total === 0) return undefined
  const rank = q * total
  let below = 0
  for (let bucket = 0; bucket < boundaries.length; bucket++) {
    const inBucket = counts[bucket] ?? 0
    if (below + inBucket >= rank && inBucket > 0) {
      const lower = bucket === 0 ? 0 : boundaries[bucket - 1] ?? 0
      const upper = boundaries[bucket] ?? lower
      return lower + (upper - lower) * ((rank - below) / inBucket)
    }
    below += inBucket
  }
  return boundaries[boundaries.length - 1]
}

/**
 * The counts of what was observed between two readings of the same histogram's bucket counts
 * (`older` taken first). A bucket that went down, which a counter never does, counts as 0.
 */
export const countsBetween = (
  older: ReadonlyArray<number> | undefined,
  newer: ReadonlyArray<number>
): Array<number> => newer.map((count, bucket) => Math.max(0, count - (older?.[bucket] ?? 0)))
