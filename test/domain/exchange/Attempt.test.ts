/**
 * The attempt rules, driven by arbitrary failure scripts through a minimal driver that does what
 * every real driver does: begin, send, report what the backend did, follow the decision.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../src/domain/BackendEvent.ts"
import type { Attempt, RequestTraits } from "../../../src/domain/exchange/Attempt.ts"
import {
  afterBackoff,
  afterFailure,
  answerOutcome,
  backendOutcome,
  begin,
  finish,
  replaying,
  responded,
  sending,
  startedEvent
} from "../../../src/domain/exchange/Attempt.ts"
import { clientClosedStatus, failureAnswer } from "../../../src/domain/exchange/Statuses.ts"

/** What a backend does with one send. */
type Behaviour = "refused" | "stale" | "reset-after-body" | "timeout" | "overloaded" | "ok" | "cut" | "client-gone"

const behaviours: ReadonlyArray<Behaviour> = [
  "refused",
  "stale",
  "reset-after-body",
  "timeout",
  "overloaded",
  "ok",
  "cut",
  "client-gone"
]

interface Run {
  readonly events: ReadonlyArray<BackendEvent>
  /** Every send: the attempt number, and whether the request's body went out on it. */
  readonly sends: ReadonlyArray<{ readonly attempt: number; readonly body: boolean }>
  readonly status: number
}

const drive = (request: RequestTraits, script: ReadonlyArray<Behaviour>, budget: number, backends = 5): Run => {
  const events: Array<BackendEvent> = []
  const sends: Array<{ attempt: number; body: boolean }> = []
  let budgetLeft = budget
  let now = 0
  let step = 0
  let attempt: Attempt = begin(undefined, "b1", 0, now)
  events.push(startedEvent(attempt))
  const close = (outcome: Parameters<typeof finish>[1]) => {
    const closed = finish(attempt, outcome, ++now)
    if (closed !== undefined) {
      attempt = closed.attempt
      events.push(closed.event)
    }
  }
  for (;;) {
    const behaviour = script[step++ % script.length] ?? "ok"
    // A refused connection never gets as far as writing the request.
    if (behaviour !== "refused") {
      attempt = sending(attempt)
      sends.push({ attempt: attempt.number, body: request.hasBody })
    }
    // A body is read as it goes: once sent on a reset-after-body, it is no longer intact.
    const bodyIntact = behaviour !== "reset-after-body"
    switch (behaviour) {
      case "ok":
      case "overloaded": {
        const status = behaviour === "ok" ? 200 : 503
        attempt = responded(attempt, { status, at: ++now, askedToWait: false, holdMs: undefined })
        close(answerOutcome({ status, at: now, askedToWait: false, holdMs: undefined }))
        return { events, sends, status }
      }
      case "cut":
        attempt = responded(attempt, { status: 200, at: ++now, askedToWait: false, holdMs: undefined })
    }
    const outcome = behaviour === "refused"
      ? "connect-failed" as const
      : behaviour === "timeout"
      ? "timeout" as const
      : behaviour === "client-gone"
      ? "aborted" as const
      : "reset" as const
    const next = afterFailure(request, attempt, { outcome, bodyIntact, clientGone: behaviour === "client-gone" })
    if (next === "replay") {
      attempt = replaying(attempt)
      continue
    }
    close(backendOutcome(outcome))
    switch (next) {
      case "gone":
        return { events, sends, status: clientClosedStatus }
      case "cut":
        return { events, sends, status: 200 }
      case "answer":
        return { events, sends, status: failureAnswer(outcome, 100).status }
      case "backoff": {
        const decision = afterBackoff(attempt.number < backends, () => budgetLeft-- > 0)
        if (decision === "answer") return { events, sends, status: failureAnswer(outcome, 100).status }
        attempt = begin(attempt, `b${attempt.number + 1}`, 0, ++now)
        events.push(startedEvent(attempt))
      }
    }
  }
}

const traits = fc.record({
  method: fc.constantFrom("GET", "HEAD", "PUT", "DELETE", "POST", "PATCH"),
  hasBody: fc.boolean(),
  maxAttempts: fc.integer({ min: 1, max: 5 }),
  pooled: fc.boolean()
})
const script = fc.array(fc.constantFrom(...behaviours), { minLength: 1, maxLength: 12 })

describe("attempt rules", () => {
  it("every attempt emits one RequestStarted and exactly one RequestFinished, in that order", () =>
    fc.assert(fc.property(traits, script, fc.nat(4), (request, behaviour, budget) => {
      const { events } = drive(request, behaviour, budget)
      const open = new Set<number>()
      let finished = 0
      for (const event of events) {
        if (event._tag === "RequestStarted") {
          assert.isFalse(open.has(event.attempt))
          open.add(event.attempt)
        } else if (event._tag === "RequestFinished") {
          finished++
        }
      }
      assert.strictEqual(finished, open.size)
      assert.strictEqual(events.at(-1)?._tag, "RequestFinished")
    })))

  it("a body that may have reached a backend is never sent again", () =>
    fc.assert(fc.property(traits, script, fc.nat(4), (request, behaviour, budget) => {
      const run = drive({ ...request, hasBody: true }, behaviour, budget)
      assert.isAtMost(run.sends.length, 1)
    })))

  it("retries never exceed the attempts allowed nor the budget", () =>
    fc.assert(fc.property(traits, script, fc.nat(4), (request, behaviour, budget) => {
      const started = drive(request, behaviour, budget).events.filter((e) => e._tag === "RequestStarted").length
      assert.isAtMost(started, request.maxAttempts)
      assert.isAtMost(started - 1, budget)
    })))

  it("the same failures give the same statuses and events", () =>
    fc.assert(fc.property(traits, script, fc.nat(4), (request, behaviour, budget) => {
      assert.deepStrictEqual(drive(request, behaviour, budget), drive(request, behaviour, budget))
    })))

  it("a stale pooled connection is replayed once on the same attempt; a GET then goes elsewhere", () => {
    const get: RequestTraits = { method: "GET", hasBody: false, maxAttempts: 3, pooled: true }
    const run = drive(get, ["stale", "stale", "ok"], 5)
    assert.deepStrictEqual(run.sends.map((s) => s.attempt), [1, 1, 2])
    assert.deepStrictEqual(run.events.map((e) => e._tag === "RequestFinished" ? e.outcome : e._tag), [
      "RequestStarted",
      "reset",
      "RequestStarted",
      "success"
    ])
    assert.strictEqual(run.status, 200)
  })

  it("a POST that reached a backend is answered 502, never retried; one refused at connect is", () => {
    const post: RequestTraits = { method: "POST", hasBody: true, maxAttempts: 3, pooled: true }
    assert.deepStrictEqual(drive(post, ["stale", "ok"], 5).status, 502)
    assert.deepStrictEqual(drive(post, ["refused", "ok"], 5).status, 200)
    assert.deepStrictEqual(drive(post, ["timeout", "ok"], 5).status, 504)
  })

  it("a bodiless POST is not replayed after a reset: the backend may have processed it", () => {
    const post: RequestTraits = { method: "POST", hasBody: false, maxAttempts: 3, pooled: true }
    assert.deepStrictEqual(drive(post, ["stale", "ok"], 5).status, 502)
  })

  it("a connection opened for one request (an upgrade) is not replayed", () => {
    const upgrade: RequestTraits = { method: "GET", hasBody: false, maxAttempts: 1, pooled: false }
    assert.deepStrictEqual(drive(upgrade, ["stale", "ok"], 5).status, 502)
  })
})
