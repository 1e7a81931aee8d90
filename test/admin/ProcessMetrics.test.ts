/**
 * The process's memory on `/metrics`: what `npm run soak` follows to tell native memory (RSS
 * growing, heap flat) from a heap leak.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

/** The value of one Prometheus sample line, e.g. `process_resident_memory_bytes 1.5e+8`. */
const sample = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  assert.isDefined(line, `${series} is exported`)
  return Number(line?.slice(series.length + 1))
}

describe("process metrics", () => {
  it.live("exports resident memory, heap and external memory as gauges, read at the scrape", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      const { text } = yield* send(proxy.adminUrl, { path: "/metrics" })
      const gauges = [
        "process_resident_memory_bytes",
        "nodejs_heap_size_total_bytes",
        "nodejs_heap_size_used_bytes",
        "nodejs_external_memory_bytes",
        "nodejs_array_buffers_bytes"
      ]
      for (const name of gauges) {
        assert.include(text, `# TYPE ${name} gauge`)
      }
      const rss = sample(text, "process_resident_memory_bytes")
      const total = sample(text, "nodejs_heap_size_total_bytes")
      const used = sample(text, "nodejs_heap_size_used_bytes")
      const external = sample(text, "nodejs_external_memory_bytes")
      const arrayBuffers = sample(text, "nodejs_array_buffers_bytes")
      // The test runner's own process: its numbers vary, their order does not.
      assert.isAbove(used, 0)
      assert.isAtLeast(total, used)
      assert.isAbove(rss, used)
      assert.isAtLeast(external, arrayBuffers)
      assert.isAbove(arrayBuffers, 0)
    }))

  it.live("reads memory anew at every scrape", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      const before = sample((yield* send(proxy.adminUrl, { path: "/metrics" })).text, "nodejs_array_buffers_bytes")
      const held = Buffer.alloc(64 * 1024 * 1024, 1)
      const after = sample((yield* send(proxy.adminUrl, { path: "/metrics" })).text, "nodejs_array_buffers_bytes")
      // Garbage buffers counted by the first scrape may be collected before the second (a GC the
      // 64 MiB allocation itself can start), so the rise is the held buffer less a few MiB at most.
      assert.isAtLeast(after - before, held.length - 8 * 1024 * 1024)
    }))
})
