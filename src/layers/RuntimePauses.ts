/**
 * The two ways a Node process stops answering while it runs: the event loop kept busy (a long
 * synchronous task) and garbage collection pausing it. Both are watched outside the data path,
 * so a request pays nothing for them:
 *
 * - `monitorEventLoopDelay` arms a libuv timer every `sampleMs` and records, in C++, the time
 *   between its firings into an HDR histogram; the timer's lateness is that time less `sampleMs`.
 *   The histogram is never reset, so its counts only grow, as Prometheus buckets must; they are
 *   read by rank (`cumulativeBucketsOfRanks`) at each scrape.
 * - A `PerformanceObserver` on `gc` entries gets one entry per collection, delivered in batches
 *   after the fact; each pause goes into a histogram of its kind.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import {
  cumulativeBucketsOfRanks,
  eventLoopDelayBoundaries,
  exported,
  gcPauseBoundaries,
  makeHistogram,
  observe
} from "../domain/metrics/Histogram.ts"
import type { ExportedHistogram } from "../domain/metrics/Histogram.ts"

/** How often the event loop is sampled: Node's default, and prom-client's. */
const sampleMs = 10

/** The `kind` label of each of V8's collection types, as Node reports them in `entry.detail.kind`. */
export const gcKinds: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"]
])

export interface RuntimePauses {
  /** How late the event loop's sampling timer fired, in seconds, since the watch began. */
  readonly eventLoopDelay: () => ExportedHistogram
  /** GC pauses in seconds, one histogram per `gcKinds` label. */
  readonly gcPauses: ReadonlyMap<string, () => ExportedHistogram>
}

const kindOf = (detail: unknown): number | undefined =>
  typeof detail === "object" && detail !== null && "kind" in detail && typeof detail.kind === "number"
    ? detail.kind
    : undefined

/** Starts both watches for the life of the scope. */
export const watchRuntimePauses: Effect.Effect<RuntimePauses, never, Scope.Scope> = Effect.gen(function*() {
  const loop = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const histogram = monitorEventLoopDelay({ resolution: sampleMs })
      histogram.enable()
      return histogram
    }),
    (histogram) => Effect.sync(() => histogram.disable())
  )
  const sampleSeconds = sampleMs / 1000
  // Recorded in nanoseconds, as the time between two firings; the lateness is what exceeds the
  // interval (a firing a little early counts as not late).
  const lateness = (nanoseconds: number) => Math.max(0, nanoseconds / 1e9 - sampleSeconds)
  const eventLoopDelay = (): ExportedHistogram => {
    const count = loop.count
    if (count === 0) return { buckets: eventLoopDelayBoundaries.map((b) => [b, 0]), count, min: 0, max: 0, sum: 0 }
    return {
      buckets: cumulativeBucketsOfRanks(
        eventLoopDelayBoundaries,
        count,
        (rank) => lateness(loop.percentile((rank / count) * 100))
      ),
      count,
      min: lateness(loop.min),
      max: lateness(loop.max),
      sum: Math.max(0, (loop.mean / 1e9 - sampleSeconds) * count)
    }
  }

  const pauses = new Map(
    [...gcKinds].map(([kind, label]) => [kind, { label, histogram: makeHistogram(gcPauseBoundaries) }])
  )
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          // A gc entry's `detail` is `{ kind, flags }`; the types declare it on marks only.
          const kind = "detail" in entry ? kindOf(entry.detail) : undefined
          const pause = kind === undefined ? undefined : pauses.get(kind)
          if (pause !== undefined) observe(pause.histogram, entry.duration / 1000)
        }
      })
      observer.observe({ entryTypes: ["gc"] })
      return observer
    }),
    (observer) => Effect.sync(() => observer.disconnect())
  )
  const gcPauses = new Map([...pauses.values()].map(({ histogram, label }) => [label, () => exported(histogram)]))
  return { eventLoopDelay, gcPauses }
})
