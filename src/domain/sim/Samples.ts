/**
 * What the lab measured of each client request: when it arrived, how long it took, the status
 * it got. Kept in typed columns that grow by doubling, so a million requests cost three flat
 * arrays rather than a million objects.
 */

export interface Samples {
  readonly count: number
  /** Arrival times (ms since the start), in the order the requests completed. */
  readonly arrivedAt: Float64Array
  /** From arrival to the answer the client got, retries and backoff included (ms). */
  readonly latency: Float64Array
  readonly status: Uint16Array
}

export interface SampleRecorder {
  readonly record: (arrivedAt: number, latency: number, status: number) => void
  /** The columns trimmed to what was recorded. */
  readonly samples: () => Samples
}

export const makeSampleRecorder = (expected: number): SampleRecorder => {
  let capacity = Math.max(16, Math.ceil(expected))
  let arrivedAt = new Float64Array(capacity)
  let latency = new Float64Array(capacity)
  let status = new Uint16Array(capacity)
  let count = 0

  const grow = () => {
    capacity *= 2
    const moreArrivedAt = new Float64Array(capacity)
    const moreLatency = new Float64Array(capacity)
    const moreStatus = new Uint16Array(capacity)
    moreArrivedAt.set(arrivedAt)
    moreLatency.set(latency)
    moreStatus.set(status)
    arrivedAt = moreArrivedAt
    latency = moreLatency
    status = moreStatus
  }

  return {
    record: (at, ms, code) => {
      if (count === capacity) grow()
      arrivedAt[count] = at
      latency[count] = ms
      status[count] = code
      count++
    },
    samples: () => ({
      count,
      arrivedAt: arrivedAt.subarray(0, count),
      latency: latency.subarray(0, count),
      status: status.subarray(0, count)
    })
  }
}
