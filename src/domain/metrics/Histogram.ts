/**
 * A fixed-bucket histogram kept as plain numbers, so the data path records a duration with a
 * few comparisons and no allocation, and exports read it in Prometheus' cumulative form.
 */

/** Seconds; fine below 100 ms where proxied requests mostly live, coarse beyond. */
export const proxyLatencyBoundaries: ReadonlyArray<number> = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30
]

export interface Histogram {
  readonly boundaries: ReadonlyArray<number>
  /** Observations per bucket (not cumulative); the last slot is above every boundary. */
  readonly counts: Array<number>
  count: number
  sum: number
  min: number
  max: number
}

export const makeHistogram = (boundaries: ReadonlyArray<number>): Histogram => ({
  boundaries,
  counts: Array.from({ length: boundaries.length + 1 }, () => 0),
  count: 0,
  sum: 0,
  min: Number.POSITIVE_INFINITY,
  max: Number.NEGATIVE_INFINITY
})

export const observe = (histogram: Histogram, value: number): void => {
  const { boundaries, counts } = histogram
  let bucket = 0
  while (bucket < boundaries.length && value > (boundaries[bucket] ?? Number.POSITIVE_INFINITY)) bucket++
  counts[bucket] = (counts[bucket] ?? 0) + 1
  histogram.count++
  histogram.sum += value
  if (value < histogram.min) histogram.min = value
  if (value > histogram.max) histogram.max = value
}

/** `[boundary, observations at or below it]` pairs, as Effect's `HistogramState` holds them. */
export const cumulativeBuckets = (histogram: Histogram): Array<[number, number]> => {
  let running = 0
  return histogram.boundaries.map((boundary, i) => {
    running += histogram.counts[i] ?? 0
    return [boundary, running]
  })
}

/** A histogram in the shape of Effect's `HistogramState`, what a metric's `get` hook returns. */
export interface ExportedHistogram {
  readonly buckets: ReadonlyArray<[number, number]>
  readonly count: number
  readonly min: number
  readonly max: number
  readonly sum: number
}

/** The export of `histogram` as of now (min and max 0 while it is empty). */
export const exported = (histogram: Histogram): ExportedHistogram => ({
  buckets: cumulativeBuckets(histogram),
  count: histogram.count,
  min: histogram.count === 0 ? 0 : histogram.min,
  max: histogram.count === 0 ? 0 : histogram.max,
  sum: histogram.sum
})

/**
 * Seconds the event loop was late, sampled (not per request). 20 ms is a boundary of its own, so
 * "stalls over 20 ms" is the count less the `le="0.02"` bucket.
 */
export const eventLoopDelayBoundaries: ReadonlyArray<number> = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5
]

/** Seconds of one garbage collection pause: scavenges take well under a millisecond, full GCs more. */
export const gcPauseBoundaries: ReadonlyArray<number> = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.25,
  0.5,
  1
]

/**
 * Prometheus' cumulative buckets of a histogram that can only say which value has a given rank,
 * such as Node's `monitorEventLoopDelay` (an HDR histogram answering percentiles). For each
 * boundary, a binary search finds the highest rank whose value is at or below it: about
 * log2(count) reads per boundary, so it suits a scrape, not the data path.
 *
 * `valueAtRank(k)` is the k-th smallest observation, for k from 1 to `count`; it must not
 * decrease as k grows.
 */
export const cumulativeBucketsOfRanks = (
  boundaries: ReadonlyArray<number>,
  count: number,
  valueAtRank: (rank: number) => number
): Array<[number, number]> =>
  boundaries.map((boundary) => {
    let atOrBelow = 0
    let above = count + 1
    while (above - atOrBelow > 1) {
      const middle = Math.floor((atOrBelow + above) / 2)
      if (valueAtRank(middle) <= boundary) atOrBelow = middle
      else above = middle
    }
    return [boundary, atOrBelow]
  })
