/** A simulated backend's answers: its timeline, its load, its failures. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { answer, conditionAt, loadFactor, timelineOf } from "../../../src/domain/sim/BackendModel.ts"
import type { SimulatedBackend } from "../../../src/domain/sim/BackendModel.ts"

const backend: SimulatedBackend = {
  name: "a",
  latency: { _tag: "Fixed", ms: 20 },
  errorFraction: 0.1,
  resetFraction: 0.05,
  overloadFraction: 0,
  retryAfterMs: 2_000,
  capacity: 10,
  changes: [
    { atMs: 30_000, slowdown: 5 },
    { atMs: 60_000, down: true },
    { atMs: 90_000, down: false, slowdown: 1 },
    { atMs: 120_000, overloadFraction: 0.2 }
  ]
}

describe("simulated backend", () => {
  it("a change holds from its instant on, and keeps what it does not mention", () => {
    const timeline = timelineOf(backend)
    const steady = {
      slowdown: 1,
      errorFraction: 0.1,
      resetFraction: 0.05,
      overloadFraction: 0,
      down: false,
      latency: backend.latency
    }
    assert.deepStrictEqual(conditionAt(timeline, 29_999.9), steady)
    assert.deepStrictEqual(conditionAt(timeline, 30_000), { ...steady, slowdown: 5 })
    assert.deepStrictEqual(conditionAt(timeline, 60_000), { ...steady, slowdown: 5, down: true })
    assert.deepStrictEqual(conditionAt(timeline, 90_000), steady)
    assert.deepStrictEqual(conditionAt(timeline, 1e9), { ...steady, overloadFraction: 0.2 })
  })

  it("property: the condition at an instant is the last change at or before it (a replay's window latency too)", () =>
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 40 }).map((starts) => starts.sort((a, b) => a - b)),
      fc.integer({ min: -10, max: 1_010 }),
      (starts, at) => {
        const changes = starts.map((atMs, i) => ({ atMs, latency: { _tag: "Fixed" as const, ms: i } }))
        const last = changes.findLast((change) => change.atMs <= at)
        const condition = conditionAt(timelineOf({ ...backend, changes }), at)
        assert.deepStrictEqual(condition.latency, last === undefined ? backend.latency : last.latency)
      }
    )))

  it("latency grows with the requests beyond capacity", () => {
    assert.strictEqual(loadFactor(10, 10), 1)
    assert.strictEqual(loadFactor(10, 15), 1.5)
    assert.strictEqual(loadFactor(10, 30), 3)
    assert.strictEqual(loadFactor(undefined, 1_000), 1)
  })

  it("answers: refused when down, a timeout past timeouts.request, a reset, a 500 or a success by the error draw", () => {
    const timeline = timelineOf(backend)
    const at = (ms: number) => conditionAt(timeline, ms)
    assert.deepStrictEqual(answer(backend, at(60_000), 1, 0.5, 0.9, 30_000), {
      outcome: "connect-failed",
      afterMs: 0,
      sent: false,
      responded: false
    })
    assert.deepStrictEqual(answer(backend, at(0), 20, 0.5, 0.9, 30), {
      outcome: "timeout",
      afterMs: 30,
      sent: true,
      responded: false
    })
    assert.deepStrictEqual(answer(backend, at(0), 20, 0.5, 0.9, 30_000), {
      outcome: "success",
      afterMs: 40,
      sent: true,
      responded: true
    })
    assert.strictEqual(answer(backend, at(0), 1, 0.5, 0.01, 30_000).outcome, "reset")
    assert.strictEqual(answer(backend, at(0), 1, 0.5, 0.1, 30_000).outcome, "server-error")
    assert.strictEqual(answer(backend, at(30_000), 1, 0.5, 0.9, 30_000).afterMs, 100)
    // Overloaded: the first share of the error draw, shed at once with the backend's Retry-After;
    // the reset and error shares come after it.
    assert.deepStrictEqual(answer(backend, at(120_000), 1, 0.5, 0.1, 30_000), {
      outcome: "overloaded",
      afterMs: 1,
      sent: true,
      responded: true,
      retryAfterMs: 2_000
    })
    assert.strictEqual(answer(backend, at(120_000), 1, 0.5, 0.21, 30_000).outcome, "reset")
    assert.strictEqual(answer(backend, at(120_000), 1, 0.5, 0.3, 30_000).outcome, "server-error")
    assert.strictEqual(answer(backend, at(120_000), 1, 0.5, 0.4, 30_000).outcome, "success")
  })

  it("property: a backend that is up answers within the timeout, and only a refusal is unsent", () => {
    const timeline = timelineOf(backend)
    fc.assert(fc.property(
      fc.double({ min: 0, max: 100_000, noNaN: true }),
      fc.integer({ min: 1, max: 100 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (time, inFlight, uLatency, uError) => {
        const condition = conditionAt(timeline, time)
        const reply = answer(backend, condition, inFlight, uLatency, uError, 500)
        return reply.afterMs >= 0 && reply.afterMs <= 500 && reply.sent === !condition.down &&
          reply.responded ===
            (reply.outcome === "success" || reply.outcome === "server-error" || reply.outcome === "overloaded")
      }
    ))
  })
})
