import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { isAvailable } from "../../src/domain/Availability.ts"
import type { BackendEvent, RequestOutcome } from "../../src/domain/BackendEvent.ts"
import { evolve } from "../../src/domain/BackendState.ts"
import type { BackendState } from "../../src/domain/BackendState.ts"
import { transitions } from "../../src/domain/Transitions.ts"
import { added, event, fullPolicy, policy, spec } from "./arbitraries.ts"

const fold = (events: ReadonlyArray<BackendEvent>, from?: BackendState) =>
  events.reduce<BackendState | undefined>((state, e) => evolve(state, e), from)

const request = (at: number, epoch: number, outcome: RequestOutcome, latencyMs = 1): Array<BackendEvent> => [
  { _tag: "RequestStarted", at, backend: "a", epoch, attempt: 1 },
  { _tag: "RequestFinished", at, backend: "a", epoch, outcome, latencyMs }
]

/** The breaker's edges: Closed → Open → HalfOpen → Closed | Open. */
const edges = new Set(["Closed>Open", "Open>HalfOpen", "HalfOpen>Closed", "HalfOpen>Open", "HalfOpen>HalfOpen"])

describe("evolve: requests", () => {
  it("counts a request from start to finish", () => {
    const state = fold([added, ...request(10, 0, "success", 4), ...request(20, 0, "timeout", 9)])
    assert.deepInclude(state, { inFlight: 0, requests: 2, failures: 1, lastLatencyMs: 9, lastRequestAt: 20 })
  })

  it("a client hanging up is neither a failure nor a latency sample", () => {
    const state = fold([added, ...request(1, 0, "success", 3), ...request(4, 0, "aborted", 500)])
    assert.deepInclude(state, { failures: 0, lastLatencyMs: 3, requests: 2 })
    assert.deepStrictEqual(state?.circuit, { _tag: "Closed", failures: 0 })
  })

  it("a removed backend finishes its in-flight requests, then is gone", () => {
    const draining = fold([added, { _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 }, {
      _tag: "BackendRemoved",
      at: 2,
      backend: "a"
    }])
    assert.deepInclude(draining, { removed: true, inFlight: 1 })
    assert.isUndefined(evolve(draining, {
      _tag: "RequestFinished",
      at: 3,
      backend: "a",
      epoch: 0,
      outcome: "success",
      latencyMs: 1
    }))
  })

  it("a drained backend takes no new requests, finishes those in flight, and stays a member until undrained", () => {
    const started: BackendEvent = { _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 }
    const drained = fold([added, started, { _tag: "BackendDrained", at: 2, backend: "a" }])
    assert.deepInclude(drained, { draining: true, removed: false, inFlight: 1 })
    assert.isFalse(drained !== undefined && isAvailable(drained))
    const finished = fold(request(3, 0, "success").slice(1), drained)
    assert.deepInclude(finished, { draining: true, inFlight: 0, requests: 1 })
    const undrained = fold([{ _tag: "BackendUndrained", at: 4, backend: "a" }], finished)
    assert.isTrue(undrained !== undefined && isAvailable(undrained))
  })

  it("a change of spec keeps a drain; a backend removed while drained comes back undrained", () => {
    const drained = fold([added, { _tag: "BackendDrained", at: 1, backend: "a" }])
    const reweighted = fold([{ _tag: "BackendAdded", at: 2, spec: { ...spec, weight: 7 }, policy }], drained)
    assert.deepInclude(reweighted, { draining: true })
    const busy = fold([{ _tag: "RequestStarted", at: 2, backend: "a", epoch: 0, attempt: 1 }, {
      _tag: "BackendRemoved",
      at: 3,
      backend: "a"
    }], drained)
    assert.deepInclude(fold([added], busy), { draining: false, removed: false })
  })

  it("measures latency from responses, not from refused or reset connections", () => {
    const state = fold([added, ...request(0, 0, "success", 20), ...request(1, 0, "connect-failed", 1)])
    assert.strictEqual(state?.latency?.value, 20)
    assert.strictEqual(state?.peakLatency?.value, 20)
  })

  it("a backend whose first answer was fast and the next five slow is measured by all six", () => {
    // 5 ms, then 100 ms five times, 100 ms apart: both estimates take their mean (decay 10 s), where
    // time alone would have left the average at 9.6 ms.
    const slower = [1, 2, 3, 4, 5].flatMap((i) => request(i * 100, 0, "success", 100))
    const state = fold([added, ...request(0, 0, "success", 5), ...slower])
    assert.closeTo(state?.latency?.value ?? 0, 505 / 6, 1e-9)
    assert.strictEqual(state?.latency?.samples, 6)
    assert.strictEqual(state?.peakLatency?.value, 100, "the peak took the first slow answer at once")
  })

  it("remembers when the backend joined, and keeps it when it is added again", () => {
    const joined = fold([{ ...added, at: 1_000 }, ...request(2_000, 0, "success", 3)])
    assert.strictEqual(joined?.joinedAt, 1_000)
    assert.strictEqual(fold([{ ...added, at: 5_000 }], joined)?.joinedAt, 1_000)
  })
})

describe("evolve: active health", () => {
  const probe = (at: number, ok: boolean): BackendEvent =>
    ok
      ? { _tag: "ProbeSucceeded", at, backend: "a", latencyMs: 1 }
      : { _tag: "ProbeFailed", at, backend: "a", reason: "HTTP 500" }

  it("takes a backend out after unhealthyThreshold failed probes in a row, back after healthyThreshold", () => {
    const healthyAfter = (probes: ReadonlyArray<boolean>) =>
      fold([added, ...probes.map((ok, i) => probe(i, ok))])?.healthy
    assert.isTrue(healthyAfter([false, false]))
    assert.isTrue(healthyAfter([false, false, true, false, false]))
    assert.isFalse(healthyAfter([false, false, false]))
    assert.isFalse(healthyAfter([false, false, false, true]))
    assert.isTrue(healthyAfter([false, false, false, true, true]))
    assert.isFalse(healthyAfter([false, false, false, true, false, true]))
  })

  it("reports the flip, not every probe", () => {
    let state = fold([added])
    const reported: Array<string> = []
    ;[false, false, false, false, true, true, true].forEach((ok, i) => {
      const next = evolve(state, probe(i, ok))
      reported.push(
        ...transitions(state, next, probe(i, ok)).map((t) => t._tag === "HealthChanged" ? `${t.healthy}@${i}` : t._tag)
      )
      state = next
    })
    assert.deepStrictEqual(reported, ["false@2", "true@5"])
  })
})

describe("evolve: circuit breaker", () => {
  it("opens after failureThreshold consecutive failures, for resetTimeout", () => {
    const state = fold([
      added,
      ...request(1, 0, "timeout"),
      ...request(2, 0, "reset"),
      ...request(3, 0, "server-error")
    ])
    assert.deepStrictEqual(state?.circuit, {
      _tag: "Open",
      until: 1_003,
      trips: 1,
      reason: "3 consecutive failures, the last: server-error"
    })
    assert.strictEqual(state?.epoch, 1)
  })

  it("a success in between resets the count", () => {
    const state = fold([
      added,
      ...request(1, 0, "timeout"),
      ...request(2, 0, "timeout"),
      ...request(3, 0, "success"),
      ...request(4, 0, "timeout"),
      ...request(5, 0, "timeout")
    ])
    assert.deepStrictEqual(state?.circuit, { _tag: "Closed", failures: 2 })
  })

  const opened = fold([added, ...request(1, 0, "timeout"), ...request(2, 0, "timeout"), ...request(3, 0, "timeout")])
  const halfOpened = fold([{ _tag: "CircuitHalfOpened", at: 1_003, backend: "a" }], opened)

  it("half-open admits halfOpenRequests trials and closes after that many successes", () => {
    assert.deepInclude(halfOpened?.circuit, { _tag: "HalfOpen", trialsInFlight: 0 })
    const trials = fold([
      { _tag: "RequestStarted", at: 1_004, backend: "a", epoch: 2, attempt: 1 },
      { _tag: "RequestStarted", at: 1_004, backend: "a", epoch: 2, attempt: 1 }
    ], halfOpened)
    assert.deepInclude(trials?.circuit, { _tag: "HalfOpen", trialsInFlight: 2 })
    const closed = fold([
      { _tag: "RequestFinished", at: 1_005, backend: "a", epoch: 2, outcome: "success", latencyMs: 1 },
      { _tag: "RequestFinished", at: 1_006, backend: "a", epoch: 2, outcome: "success", latencyMs: 1 }
    ], trials)
    assert.deepStrictEqual(closed?.circuit, { _tag: "Closed", failures: 0 })
    assert.strictEqual(closed?.epoch, 3)
  })

  it("a failed trial opens it again for twice as long", () => {
    const reopened = fold(request(1_010, 2, "connect-failed"), halfOpened)
    assert.deepStrictEqual(reopened?.circuit, {
      _tag: "Open",
      until: 1_010 + 2_000,
      trips: 2,
      reason: "a trial request failed: connect-failed"
    })
  })

  it("a request from an earlier epoch moves neither way", () => {
    const late = fold(request(1_010, 0, "success"), halfOpened)
    assert.deepInclude(late?.circuit, { _tag: "HalfOpen", successes: 0 })
    const lateFailure = fold(request(1_010, 0, "timeout"), halfOpened)
    assert.strictEqual(lateFailure?.circuit._tag, "HalfOpen")
  })
})

describe("evolve: properties", () => {
  it("property: in-flight is never negative and counts stay consistent, whatever the order of events", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 300 }), (events) => {
      let state: BackendState | undefined
      for (const e of events) {
        state = evolve(state, e)
        if (state === undefined) continue
        assert.isAtLeast(state.inFlight, 0)
        assert.isAtMost(state.failures, state.requests)
        if (state.circuit._tag === "HalfOpen") assert.isAtLeast(state.circuit.trialsInFlight, 0)
      }
    }))
  })

  it("property: the breaker only moves along its edges, and the epoch moves with it", () => {
    fc.assert(fc.property(fc.array(event.filter((e) => e._tag !== "BackendAdded"), { maxLength: 300 }), (events) => {
      let state = fold([added])
      for (const e of events) {
        const next = evolve(state, e)
        if (state === undefined || next === undefined) {
          state = next
          continue
        }
        const from = state.circuit._tag
        const to = next.circuit._tag
        if (from !== to) {
          assert.isTrue(
            edges.has(`${from}>${to}`) || e._tag === "CircuitOpened" || e._tag === "CircuitClosed",
            `${from}>${to} on ${e._tag}`
          )
          assert.strictEqual(next.epoch, state.epoch + 1)
        } else {
          assert.strictEqual(next.epoch, state.epoch)
        }
        state = next
      }
    }))
  })

  it("property: folding the transitions after their causes changes nothing (replays are idempotent)", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      let live: BackendState | undefined
      let replayed: BackendState | undefined
      for (const e of events) {
        const next = evolve(live, e)
        replayed = evolve(replayed, e)
        for (const t of transitions(live, next, e)) replayed = evolve(replayed, t)
        live = next
      }
      assert.deepStrictEqual(replayed, live)
    }))
  })

  it("property: events for an unknown backend change nothing", () => {
    fc.assert(fc.property(event.filter((e) => e._tag !== "BackendAdded"), (e) => {
      assert.isUndefined(evolve(undefined, e))
    }))
  })
})

describe("evolve: overloaded backends and peak-EWMA refinements", () => {
  const full: BackendEvent = { _tag: "BackendAdded", at: 0, spec, policy: fullPolicy }
  const finished = (
    at: number,
    outcome: RequestOutcome,
    latencyMs: number,
    retryAfterMs?: number
  ): Array<BackendEvent> => [
    { _tag: "RequestStarted", at, backend: "a", epoch: 0, attempt: 1 },
    retryAfterMs === undefined
      ? { _tag: "RequestFinished", at, backend: "a", epoch: 0, outcome, latencyMs }
      : { _tag: "RequestFinished", at, backend: "a", epoch: 0, outcome, latencyMs, retryAfterMs }
  ]

  it("an overloaded answer with Retry-After keeps the backend out that long, and counts as a failure", () => {
    const state = fold([added, ...finished(100, "overloaded", 2, 1_500)])
    assert.deepStrictEqual(state?.circuit, {
      _tag: "Open",
      until: 1_600,
      trips: 1,
      reason: "the backend asked to retry after 1500 ms"
    })
    assert.deepInclude(state, { failures: 1, epoch: 1 })
    const halfOpen = fold([{ _tag: "CircuitHalfOpened", at: 1_600, backend: "a" }], state)
    assert.strictEqual(halfOpen?.circuit._tag, "HalfOpen", "then trial requests decide, as after any opening")
  })

  it("a Retry-After shorter than the breaker's own opening does not shorten it", () => {
    const tripped = fold([
      added,
      ...finished(1, "timeout", 5),
      ...finished(2, "timeout", 5),
      ...finished(3, "overloaded", 1, 10)
    ])
    assert.deepInclude(tripped?.circuit, {
      _tag: "Open",
      until: 1_003,
      reason: "3 consecutive failures, the last: overloaded"
    })
  })

  it("an unmeasured backend's peak estimate starts at defaultRtt when it joins, as a default of no samples", () => {
    assert.deepStrictEqual(fold([{ _tag: "BackendAdded", at: 500, spec, policy: fullPolicy }])?.peakLatency, {
      value: 30,
      at: 500,
      samples: 0
    })
    assert.isUndefined(fold([added])?.peakLatency)
  })

  it("the first response replaces the defaultRtt a peak estimate started at, even a faster one", () => {
    // Averaged in by time, 2 ms at 50 ms would have left 29.996 ms.
    const state = fold([full, ...finished(50, "success", 2)])
    assert.deepStrictEqual(state?.peakLatency, { value: 2, at: 50, samples: 1 })
  })

  it("a fast failure counts as at least failurePenalty in the peak estimate, not in the average", () => {
    const state = fold([full, ...finished(10, "success", 20), ...finished(20, "connect-failed", 1)])
    assert.strictEqual(state?.peakLatency?.value, 1_000)
    assert.strictEqual(state?.latency?.value, 20)
    const overloaded = fold([full, ...finished(10, "overloaded", 3)])
    assert.strictEqual(overloaded?.peakLatency?.value, 1_000)
    const plain = fold([added, ...finished(10, "success", 20), ...finished(20, "connect-failed", 1)])
    assert.strictEqual(plain?.peakLatency?.value, 20, "without the penalty a fast failure is not measured")
  })

  it("a throttled answer (429 without Retry-After) is no failure for the breaker, but is penalised in the peak estimate", () => {
    const throttled = fold([full, ...finished(1, "success", 20), ...finished(2, "throttled", 1)])
    assert.strictEqual(throttled?.circuit._tag, "Closed")
    assert.strictEqual(throttled?.failures, 0)
    assert.strictEqual(throttled?.peakLatency?.value, 1_000)
    assert.strictEqual(throttled?.latency?.value, 20, "its 1 ms is not taken for the backend's speed")
  })
})
