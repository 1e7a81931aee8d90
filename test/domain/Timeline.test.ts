import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../src/domain/BackendPolicy.ts"
import { evolve } from "../../src/domain/BackendState.ts"
import type { BackendState } from "../../src/domain/BackendState.ts"
import { replay, snapshotEvents } from "../../src/domain/Timeline.ts"
import { added, event } from "./arbitraries.ts"

const policy = {
  ...defaultPolicy,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  failureThreshold: 2,
  resetTimeoutMs: 500
}
const spec = { name: "api", url: "http://10.0.0.1:80", weight: 1 }

const story = (entries: ReturnType<typeof replay>["timeline"]) =>
  entries.map((e) => `${e.at} ${e.kind} ${e.from}->${e.to}: ${e.reason}`)

describe("timeline", () => {
  it("tells each membership, health and circuit change with its reason", () => {
    const events: Array<BackendEvent> = [
      { _tag: "BackendAdded", at: 0, spec, policy },
      { _tag: "ProbeFailed", at: 100, backend: "api", reason: "HTTP 503" },
      { _tag: "ProbeFailed", at: 200, backend: "api", reason: "connection refused" },
      { _tag: "HealthChanged", at: 200, backend: "api", healthy: false, reason: "duplicate report" },
      { _tag: "ProbeSucceeded", at: 300, backend: "api", latencyMs: 2 },
      {
        _tag: "CircuitOpened",
        at: 400,
        backend: "api",
        until: 900,
        trips: 1,
        reason: "2 consecutive failures, the last: timeout"
      },
      { _tag: "CircuitHalfOpened", at: 900, backend: "api" },
      { _tag: "CircuitClosed", at: 950, backend: "api" },
      { _tag: "BackendRemoved", at: 1000, backend: "api" }
    ]
    assert.deepStrictEqual(story(replay(events).timeline), [
      "0 membership absent->member: http://10.0.0.1:80",
      "200 health healthy->unhealthy: 2 consecutive failed probes, the last: connection refused",
      "300 health unhealthy->healthy: 1 consecutive successful probes",
      "400 circuit closed->open: 2 consecutive failures, the last: timeout",
      "900 circuit open->half-open: the open period ended",
      "950 circuit half-open->closed: trial requests succeeded",
      "1000 membership member->gone: removed from the config"
    ])
    assert.strictEqual(replay(events).states.size, 0)
  })

  it("tells a declined ejection, whether the journal recorded it or replay derives it from requests", () => {
    const capped = { ...policy, failureThreshold: 1, ejection: { baseMs: 1_000, maxMs: 5_000, maxPercent: 50 } }
    const add = (name: string): BackendEvent => ({
      _tag: "BackendAdded",
      at: 0,
      spec: { ...spec, name },
      policy: capped
    })
    const fail = (backend: string, at: number): Array<BackendEvent> => [
      { _tag: "RequestStarted", at, backend, epoch: 0, attempt: 1 },
      { _tag: "RequestFinished", at, backend, epoch: 0, outcome: "reset", latencyMs: 1 }
    ]
    const fromRequests = replay([add("a"), add("b"), ...fail("a", 10), ...fail("b", 20)])
    assert.deepStrictEqual(story(fromRequests.timeline).slice(2), [
      "10 circuit closed->open: 1 consecutive failures, the last: reset",
      "20 circuit closed->closed: ejection declined: 1 consecutive failures, the last: reset; " +
      "but the pool has 1 of its 2 backends ejected and maxEjectionPercent 50 allows 1"
    ])
    const fromJournal = replay([add("b"), { _tag: "EjectionDeclined", at: 20, backend: "b", reason: "r" }])
    assert.deepStrictEqual(story(fromJournal.timeline).slice(1), ["20 circuit closed->closed: ejection declined: r"])
  })

  it("derives circuit changes from request events when the journal holds them", () => {
    const request = (at: number, epoch: number): Array<BackendEvent> => [
      { _tag: "RequestStarted", at, backend: "api", epoch, attempt: 1 },
      { _tag: "RequestFinished", at, backend: "api", epoch, outcome: "reset", latencyMs: 1 }
    ]
    const result = replay([{ _tag: "BackendAdded", at: 0, spec, policy }, ...request(10, 0), ...request(20, 0)])
    assert.deepStrictEqual(story(result.timeline).slice(1), [
      "20 circuit closed->open: 2 consecutive failures, the last: reset"
    ])
    assert.deepInclude(result.states.get("api")?.circuit, { _tag: "Open", until: 520 })
  })

  it("tells a drain and its end, and a snapshot keeps a drained backend drained", () => {
    const events: Array<BackendEvent> = [
      { _tag: "BackendAdded", at: 0, spec, policy },
      { _tag: "BackendDrained", at: 10, backend: "api" },
      { _tag: "BackendDrained", at: 15, backend: "api" },
      { _tag: "BackendUndrained", at: 20, backend: "api" },
      { _tag: "BackendDrained", at: 30, backend: "api" }
    ]
    const result = replay(events)
    assert.deepStrictEqual(story(result.timeline), [
      "0 membership absent->member: http://10.0.0.1:80",
      "10 membership member->drained: drained: no new requests",
      "20 membership drained->member: undrained",
      "30 membership member->drained: drained: no new requests"
    ])
    const state = result.states.get("api")
    assert.isDefined(state)
    if (state !== undefined) assert.isTrue(replay(snapshotEvents(state, 40)).states.get("api")?.draining)
  })

  it("property: a snapshot of any state replays to that state's membership, health and circuit", () => {
    const essence = (state: BackendState | undefined) =>
      state === undefined ? undefined : {
        removed: state.removed,
        draining: state.draining,
        healthy: state.healthy,
        circuit: state.circuit._tag === "Open" ? state.circuit : state.circuit._tag,
        spec: state.spec
      }
    fc.assert(fc.property(fc.array(event, { maxLength: 100 }), (events) => {
      const state = [added, ...events].reduce<BackendState | undefined>((s, e) => evolve(s, e), undefined)
      if (state === undefined) return
      // A draining backend's in-flight count is not journaled: it replays as already gone.
      const expected = state.removed ? undefined : essence(state)
      assert.deepStrictEqual(essence(replay(snapshotEvents(state, 5)).states.get("a")), expected)
    }))
  })
})
