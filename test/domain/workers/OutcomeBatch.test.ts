/** A batch reads back as exactly the request events and counted requests written into it, in order. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../src/domain/BackendEvent.ts"
import type { CountedRequest } from "../../../src/domain/RequestRecord.ts"
import { appendCounted, appendEvent, readBatch } from "../../../src/domain/workers/OutcomeBatch.ts"
import type { OutcomeBatch } from "../../../src/domain/workers/OutcomeBatch.ts"
import { event } from "../arbitraries.ts"

const countedRequest: fc.Arbitrary<CountedRequest> = fc.record({
  backend: fc.option(fc.stringMatching(/^[a-z0-9:.]{1,20}$/), { nil: undefined }),
  method: fc.constantFrom("GET", "POST", "OTHER"),
  status: fc.integer({ min: 100, max: 599 }),
  durationMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
  cache: fc.constantFrom(undefined, "HIT" as const, "MISS" as const)
})

type Entry = { readonly event: BackendEvent } | { readonly counted: CountedRequest }

const entry: fc.Arbitrary<Entry> = fc.oneof(
  event.filter((e) => e._tag === "RequestStarted" || e._tag === "RequestFinished").map((e) => ({ event: e })),
  countedRequest.map((counted) => ({ counted }))
)

describe("outcome batches", () => {
  it("read back what was written", () =>
    fc.assert(fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
      const batch: OutcomeBatch = []
      for (const written of entries) {
        if ("event" in written) appendEvent(batch, written.event)
        else appendCounted(batch, written.counted)
      }
      const read: Array<Entry> = []
      readBatch(structuredClone(batch), {
        event: (e) => read.push({ event: e }),
        counted: (counted) => read.push({ counted })
      })
      assert.deepStrictEqual(read, entries)
    })))
})
