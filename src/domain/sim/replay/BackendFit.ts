/**
 * A backend as its access log shows it: per window of time, the latencies it answered with (as
 * evenly spaced quantiles, an `Empirical` latency) and the shares of its answers that were 5xx
 * or failed without a response, each window fitted over itself and the one before (a sliding
 * window of two, stepping one: changes show within a window, and each fit has twice the answers). Fitted in one pass over the log, one window open at a time
 * (two, for lines that come a little out of order: the log is written as requests end, its
 * times are when they arrived), so a day of traffic costs a window's samples in memory.
 *
 * A window with too few answers to say much (a backend that took little traffic for a while) is
 * pooled with the ones after it until there are enough; a window without its own fit keeps the
 * one before. The latency is the log's `upstreamMs` (the last attempt's time to its response
 * head), which is what the backend did; what the log cannot show is how that would change under
 * another load (docs/simulate.md, "what the model cannot know").
 */

export interface FitSettings {
  readonly windowMs: number
  /** A window with fewer answers is pooled with the next. */
  readonly minSamples: number
  /** Quantile points kept per window (the minimum and maximum included). */
  readonly points: number
}

export const defaultFitSettings: FitSettings = { windowMs: 10_000, minSamples: 20, points: 101 }

export interface FittedWindow {
  /** Epoch ms: from here until the next window's start. */
  readonly startMs: number
  /** Latencies (ms) at evenly spaced quantiles, ascending, of its answers and the window before's. */
  readonly latency: Float64Array
  /** Of the answers it is fitted over: a response head with a 5xx. */
  readonly errorFraction: number
  /** Of the answers it is fitted over: no response head (reset, timed out) while the backend was not down. */
  readonly resetFraction: number
  /** Answers in the window itself (those of the one before are counted there). */
  readonly answers: number
}

export interface FittedBackend {
  readonly name: string
  /** In time order; empty when the log has no answer of it. */
  readonly windows: ReadonlyArray<FittedWindow>
}

export interface BackendFitter {
  /**
   * An attempt that ended the request at epoch `atMs` (its arrival) on `backend`: its response
   * head after `upstreamMs` with `status`, or, `upstreamMs` undefined, no response.
   */
  readonly add: (backend: string, atMs: number, upstreamMs: number | undefined, status: number) => void
  readonly fitted: () => ReadonlyArray<FittedBackend>
}

interface Bucket {
  readonly index: number
  readonly samples: Array<number>
  errors: number
  failed: number
}

/** `points` evenly spaced quantiles of ascending `sorted` (itself, when it has no more values). */
export const quantilePoints = (sorted: ReadonlyArray<number>, points: number): Float64Array => {
  if (sorted.length <= points) return Float64Array.from(sorted)
  return Float64Array.from({ length: points }, (_, i) => {
    const position = (i / (points - 1)) * (sorted.length - 1)
    const below = Math.floor(position)
    const low = sorted[below] ?? 0
    return low + (position - below) * ((sorted[below + 1] ?? low) - low)
  })
}

const makeBackendFit = (settings: FitSettings) => {
  const windows: Array<FittedWindow> = []
  const open: Array<Bucket> = []
  let closedBefore = Number.NEGATIVE_INFINITY
  let pending: Bucket | undefined
  /** The window closed last, as it was: the first half of the next one's sliding window. */
  let previous: Bucket | undefined

  const merged = (a: Bucket, b: Bucket): Bucket => ({
    index: a.index,
    samples: a.samples.concat(b.samples),
    errors: a.errors + b.errors,
    failed: a.failed + b.failed
  })

  /** `bucket`'s window, fitted over it and `before` (the window before it, when not pooled in already). */
  const emit = (bucket: Bucket, before: Bucket | undefined) => {
    const fitted = before === undefined ? bucket : merged(bucket, before)
    const all = fitted.samples.length + fitted.failed
    windows.push({
      startMs: bucket.index * settings.windowMs,
      latency: quantilePoints([...fitted.samples].sort((a, b) => a - b), settings.points),
      errorFraction: all === 0 ? 0 : fitted.errors / all,
      resetFraction: all === 0 ? 0 : fitted.failed / all,
      answers: bucket.samples.length + bucket.failed
    })
  }

  const close = (bucket: Bucket) => {
    closedBefore = bucket.index + 1
    const before = pending === undefined && previous?.index === bucket.index - 1 ? previous : undefined
    const pooled = pending === undefined ? bucket : merged(pending, bucket)
    previous = bucket
    if (pooled.samples.length >= settings.minSamples) {
      emit(pooled, before)
      pending = undefined
    } else {
      pending = pooled
    }
  }

  return {
    add: (atMs: number, upstreamMs: number | undefined, status: number) => {
      const index = Math.max(closedBefore, Math.floor(atMs / settings.windowMs))
      // Windows two behind the newest are complete: a line is late by less than a window.
      while (open.length > 0 && (open[0]?.index ?? index) < index - 1) {
        const oldest = open.shift()
        if (oldest !== undefined) close(oldest)
      }
      let bucket = open.find((candidate) => candidate.index === index)
      if (bucket === undefined) {
        bucket = { index, samples: [], errors: 0, failed: 0 }
        open.push(bucket)
        open.sort((a, b) => a.index - b.index)
      }
      if (upstreamMs === undefined) {
        bucket.failed++
        return
      }
      bucket.samples.push(upstreamMs)
      if (status >= 500) bucket.errors++
    },
    fitted: (): ReadonlyArray<FittedWindow> => {
      for (const bucket of open.splice(0)) close(bucket)
      // Too few answers even pooled: the only fit there is, when there is no other.
      if (pending !== undefined && windows.length === 0 && pending.samples.length > 0) emit(pending, undefined)
      pending = undefined
      return windows
    }
  }
}

export const makeBackendFitter = (settings: FitSettings = defaultFitSettings): BackendFitter => {
  const backends = new Map<string, ReturnType<typeof makeBackendFit>>()
  return {
    add: (backend, atMs, upstreamMs, status) => {
      let fit = backends.get(backend)
      if (fit === undefined) {
        fit = makeBackendFit(settings)
        backends.set(backend, fit)
      }
      fit.add(atMs, upstreamMs, status)
    },
    fitted: () => Array.from(backends, ([name, fit]) => ({ name, windows: fit.fitted() }))
  }
}
