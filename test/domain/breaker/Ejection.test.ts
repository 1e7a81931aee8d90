import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../../src/domain/BackendPolicy.ts"
import type { BackendPolicy } from "../../../src/domain/BackendPolicy.ts"
import { evolve } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { maxEjected } from "../../../src/domain/breaker/Ejection.ts"
import { evolveInPool } from "../../../src/domain/PoolEvolve.ts"
import { transitions } from "../../../src/domain/Transitions.ts"

const ejection = { baseMs: 30_000, maxMs: 100_000, maxPercent: 50 }
const policy: BackendPolicy = { ...defaultPolicy, failureThreshold: 1, halfOpenRequests: 1, ejection }

const add = (name: string, at = 0): BackendEvent => ({
  _tag: "BackendAdded",
  at,
  spec: { name, url: `http://${name}:1`, weight: 1 },
  policy
})

/** A pool folded as the registry folds it: every event through `evolveInPool`, declines named by `transitions`. */
const makePool = (names: ReadonlyArray<string>) => {
  const states = new Map<string, BackendState>()
  const declined: Array<BackendEvent> = []
  const members = () => [...states.values()]
  const apply = (event: BackendEvent) => {
    const name = event._tag === "BackendAdded" ? event.spec.name : event.backend
    const before = states.get(name)
    const after = evolveInPool(before, event, members)
    declined.push(...transitions(before, after, event).filter((e) => e._tag === "EjectionDeclined"))
    if (after === undefined) states.delete(name)
    else states.set(name, after)
  }
  names.forEach((name) => apply(add(name)))
  /** A failed request on `name` at `at`, in its current epoch. */
  const fail = (name: string, at: number) => {
    const epoch = states.get(name)?.epoch ?? 0
    apply({ _tag: "RequestStarted", at, backend: name, epoch, attempt: 1 })
    apply({ _tag: "RequestFinished", at, backend: name, epoch, outcome: "connect-failed", latencyMs: 1 })
  }
  const succeed = (name: string, at: number) => {
    const epoch = states.get(name)?.epoch ?? 0
    apply({ _tag: "RequestStarted", at, backend: name, epoch, attempt: 1 })
    apply({ _tag: "RequestFinished", at, backend: name, epoch, outcome: "success", latencyMs: 1 })
  }
  return { states, declined, apply, fail, succeed }
}

const openFor = (state: BackendState | undefined, at: number): number =>
  state?.circuit._tag === "Open" ? state.circuit.until - at : 0

describe("outlier ejection", () => {
  it("stays out base × ejections so far, capped at maxEjectionTime", () => {
    const pool = makePool(["a", "b", "c", "d"])
    const periods: Array<number> = []
    let at = 0
    for (let ejection = 1; ejection <= 5; ejection++) {
      pool.fail("a", at)
      const period = openFor(pool.states.get("a"), at)
      periods.push(period)
      at += period
      pool.apply({ _tag: "CircuitHalfOpened", at, backend: "a" })
    }
    assert.deepStrictEqual(periods, [30_000, 60_000, 90_000, 100_000, 100_000])
  })

  it("forgives one ejection per baseEjectionTime back in service", () => {
    const pool = makePool(["a", "b", "c", "d"])
    pool.fail("a", 0)
    pool.apply({ _tag: "CircuitHalfOpened", at: 30_000, backend: "a" })
    pool.fail("a", 30_000)
    pool.apply({ _tag: "CircuitHalfOpened", at: 90_000, backend: "a" })
    pool.succeed("a", 90_000)
    assert.strictEqual(pool.states.get("a")?.circuit._tag, "Closed")
    assert.strictEqual(pool.states.get("a")?.ejections, 2)
    // Two ejections charged; 30 s back in service forgives one: the next opening is the second.
    pool.fail("a", 120_000)
    assert.strictEqual(openFor(pool.states.get("a"), 120_000), 60_000)
    pool.apply({ _tag: "CircuitHalfOpened", at: 180_000, backend: "a" })
    pool.succeed("a", 180_000)
    // A long healthy spell forgives them all.
    pool.fail("a", 1_000_000)
    assert.strictEqual(openFor(pool.states.get("a"), 1_000_000), 30_000)
  })

  it("declines an ejection beyond maxEjectionPercent: the backend keeps serving, failures reset", () => {
    const pool = makePool(["a", "b", "c", "d"])
    pool.fail("a", 1)
    pool.fail("b", 2)
    pool.fail("c", 3)
    assert.deepStrictEqual(["a", "b", "c"].map((n) => pool.states.get(n)?.circuit._tag), ["Open", "Open", "Closed"])
    assert.deepInclude(pool.states.get("c"), { epoch: 0, ejections: 0 })
    assert.deepStrictEqual(pool.declined.map((e) => e._tag === "EjectionDeclined" ? [e.backend, e.at] : []), [["c", 3]])
    const reason = pool.declined[0]?._tag === "EjectionDeclined" ? pool.declined[0].reason : ""
    assert.include(reason, "the pool has 2 of its 4 backends ejected and maxEjectionPercent 50 allows 2")
  })

  it("a backend's own Retry-After is honoured whatever the cap, but no ejection beyond it", () => {
    const pool = makePool(["a", "b"])
    pool.fail("a", 1)
    assert.strictEqual(pool.states.get("a")?.circuit._tag, "Open")
    pool.apply({ _tag: "RequestStarted", at: 2, backend: "b", epoch: 0, attempt: 1 })
    pool.apply({
      _tag: "RequestFinished",
      at: 3,
      backend: "b",
      epoch: 0,
      outcome: "overloaded",
      latencyMs: 1,
      retryAfterMs: 500
    })
    assert.deepStrictEqual(pool.states.get("b")?.circuit, {
      _tag: "Open",
      until: 503,
      trips: 1,
      reason: "the backend asked to retry after 500 ms"
    })
    assert.deepInclude(pool.states.get("b"), { epoch: 1, ejections: 0 })
    assert.strictEqual(pool.declined.length, 1)
  })

  it("property: never more than maxEjectionPercent of a pool ejected by failures, whatever happens", () => {
    const step = fc.record({
      backend: fc.nat(5),
      kind: fc.constantFrom("fail", "fail", "succeed", "halfOpen"),
      advance: fc.nat(20_000)
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(step, { maxLength: 80 }),
        (size, percent, steps) => {
          const names = Array.from({ length: size }, (_, i) => `b${i}`)
          const pool = makePool([])
          const capped: BackendPolicy = { ...policy, ejection: { ...ejection, maxPercent: percent } }
          names.forEach((name) =>
            pool.apply({ _tag: "BackendAdded", at: 0, spec: { name, url: "http://x:1", weight: 1 }, policy: capped })
          )
          let at = 0
          for (const { advance, backend, kind } of steps) {
            at += advance
            const name = names[backend % size] ?? "b0"
            if (kind === "fail") pool.fail(name, at)
            else if (kind === "succeed") pool.succeed(name, at)
            else pool.apply({ _tag: "CircuitHalfOpened", at, backend: name })
            const open = [...pool.states.values()].filter((s) => s.circuit._tag === "Open").length
            assert.isAtMost(open, maxEjected(size, { ...ejection, maxPercent: percent }))
          }
        }
      )
    )
  })

  it("the plain fold, without the pool, opens regardless: the cap lives in the pool fold alone", () => {
    const lone = [
      add("a"),
      { _tag: "RequestFinished", at: 1, backend: "a", epoch: 0, outcome: "reset", latencyMs: 1 } as const
    ]
      .reduce<BackendState | undefined>((state, event) => evolve(state, event), undefined)
    assert.strictEqual(lone?.circuit._tag, "Open")
  })
})
