/**
 * Event-loop delay and GC pauses on `/metrics`, from a real server: a real stall of the process's
 * event loop shows above the 20 ms bucket, and a real collection shows as a pause of its kind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

/** The value of one sample line, e.g. `lb_event_loop_delay_seconds_bucket{le="0.02"} 12`. */
const sample = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  assert.isDefined(line, `${series} is exported`)
  return Number(line?.slice(series.length + 1))
}

const scrape = (adminUrl: string) => send(adminUrl, { path: "/metrics" }).pipe(Effect.map(({ text }) => text))

/** Observations between 50 and 250 ms (the process may be descheduled during the loop): the `le="0.25"` bucket less the `le="0.05"` one. */
const stallsBetween50And250ms = (text: string): number =>
  sample(text, `lb_event_loop_delay_seconds_bucket{le="0.25"}`) -
  sample(text, `lb_event_loop_delay_seconds_bucket{le="0.05"}`)

const busyFor = (ms: number) =>
  Effect.sync(() => {
    const start = performance.now()
    while (performance.now() - start < ms) {
      // the stall itself
    }
  })

describe("event-loop delay and GC pauses", () => {
  it.live("a 60 ms busy loop in the process shows as a delay between 50 and 250 ms", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      yield* Effect.sleep("100 millis")
      const before = yield* scrape(proxy.adminUrl)
      assert.include(before, "# TYPE lb_event_loop_delay_seconds histogram")
      assert.isAbove(sample(before, "lb_event_loop_delay_seconds_count"), 0)
      yield* busyFor(60)
      // The sampling timer records the stall when it fires next.
      yield* Effect.sleep("50 millis")
      const after = yield* scrape(proxy.adminUrl)
      // At least: a loaded machine that deschedules the process adds stalls of its own.
      assert.isAtLeast(stallsBetween50And250ms(after) - stallsBetween50And250ms(before), 1)
    }))

  it.live("garbage collections are counted as pauses of their kind", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      const before = yield* scrape(proxy.adminUrl)
      for (const kind of ["minor", "major", "incremental", "weakcb"]) {
        assert.include(before, `lb_gc_pause_seconds_count{kind="${kind}"}`)
      }
      // Short-lived garbage, about 100 MiB: the young generation fills a few times over. Each
      // object escapes into a slot, so the compiler cannot leave it unallocated.
      yield* Effect.sync(() => {
        const slots: Array<{ readonly i: number } | undefined> = Array.from({ length: 1024 }, () => undefined)
        for (let i = 0; i < 3_000_000; i++) slots[i % slots.length] = { i }
        return slots.length
      })
      // Entries reach the observer after the collection, in a later turn of the loop.
      yield* Effect.sleep("50 millis")
      const after = yield* scrape(proxy.adminUrl)
      const minor = (text: string) => sample(text, `lb_gc_pause_seconds_count{kind="minor"}`)
      assert.isAbove(minor(after), minor(before))
      assert.isAbove(sample(after, `lb_gc_pause_seconds_sum{kind="minor"}`), 0)
    }))
})
