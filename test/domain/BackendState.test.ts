import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent, RequestOutcome } from "../../src/domain/BackendEvent.ts"
import { evolve } from "../../src/domain/BackendState.ts"
import type { BackendState } from "../../src/domain/BackendState.ts"

const spec = { name: "a", url: "http://a:1", weight: 1 }

const outcomes: ReadonlyArray<RequestOutcome> = [
  "success",
  "server-error",
  "connect-failed",
  "reset",
  "timeout",
  "bad-response",
  "aborted"
]

const event: fc.Arbitrary<BackendEvent> = fc.oneof(
  fc.constant<BackendEvent>({ _tag: "BackendAdded", at: 0, spec }),
  fc.constant<BackendEvent>({ _tag: "BackendRemoved", at: 0, backend: "a" }),
  fc.constant<BackendEvent>({ _tag: "RequestStarted", at: 0, backend: "a" }),
  fc.record({ outcome: fc.constantFrom(...outcomes), latencyMs: fc.double({ min: 0, max: 1e4, noNaN: true }) }).map(
    ({ latencyMs, outcome }): BackendEvent => ({ _tag: "RequestFinished", at: 0, backend: "a", outcome, latencyMs })
  )
)

const fold = (events: ReadonlyArray<BackendEvent>) =>
  events.reduce<BackendState | undefined>((state, e) => evolve(state, e), undefined)

describe("evolve", () => {
  it("counts a request from start to finish", () => {
    const state = fold([
      { _tag: "BackendAdded", at: 0, spec },
      { _tag: "RequestStarted", at: 10, backend: "a" },
      { _tag: "RequestStarted", at: 11, backend: "a" },
      { _tag: "RequestFinished", at: 20, backend: "a", outcome: "success", latencyMs: 4 },
      { _tag: "RequestFinished", at: 21, backend: "a", outcome: "timeout", latencyMs: 9 }
    ])
    assert.deepInclude(state, {
      inFlight: 0,
      requests: 2,
      failures: 1,
      consecutiveFailures: 1,
      lastLatencyMs: 9,
      lastRequestAt: 11
    })
  })

  it("a client hanging up is neither a failure nor a latency sample", () => {
    const state = fold([
      { _tag: "BackendAdded", at: 0, spec },
      { _tag: "RequestStarted", at: 1, backend: "a" },
      { _tag: "RequestFinished", at: 2, backend: "a", outcome: "success", latencyMs: 3 },
      { _tag: "RequestStarted", at: 4, backend: "a" },
      { _tag: "RequestFinished", at: 5, backend: "a", outcome: "aborted", latencyMs: 500 }
    ])
    assert.deepInclude(state, { failures: 0, consecutiveFailures: 0, lastLatencyMs: 3, requests: 2 })
  })

  it("a removed backend finishes its in-flight requests, then is gone", () => {
    const draining = fold([
      { _tag: "BackendAdded", at: 0, spec },
      { _tag: "RequestStarted", at: 1, backend: "a" },
      { _tag: "BackendRemoved", at: 2, backend: "a" }
    ])
    assert.deepInclude(draining, { removed: true, inFlight: 1 })
    assert.isUndefined(evolve(draining, { _tag: "RequestFinished", at: 3, backend: "a", outcome: "success", latencyMs: 1 }))
  })

  it("property: in-flight is never negative and counts match the events, whatever their order", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      let state: BackendState | undefined
      for (const e of events) {
        state = evolve(state, e)
        if (state === undefined) continue
        assert.isAtLeast(state.inFlight, 0)
        assert.isAtMost(state.failures, state.requests)
        assert.isAtMost(state.consecutiveFailures, state.failures)
      }
    }))
  })

  it("property: events for an unknown backend change nothing", () => {
    fc.assert(fc.property(event.filter((e) => e._tag !== "BackendAdded"), (e) => {
      assert.isUndefined(evolve(undefined, e))
    }))
  })
})
