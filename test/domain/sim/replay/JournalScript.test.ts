/** What a journal scripts in a replay: members, down periods from the probes, transitions. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../../src/domain/BackendEvent.ts"
import { downChanges, scriptOf } from "../../../../src/domain/sim/replay/JournalScript.ts"

const policy = {
  healthyThreshold: 1,
  unhealthyThreshold: 2,
  failureThreshold: 3,
  resetTimeoutMs: 2_000,
  halfOpenRequests: 1,
  ewmaDecayMs: 10_000
}

const added = (name: string, at: number): BackendEvent => ({
  _tag: "BackendAdded",
  at,
  spec: { name, url: `http://${name}:1`, weight: 1 },
  policy
})
const ok = (backend: string, at: number): BackendEvent => ({ _tag: "ProbeSucceeded", at, backend, latencyMs: 1 })
const failed = (backend: string, at: number): BackendEvent => ({
  _tag: "ProbeFailed",
  at,
  backend,
  reason: "connection refused"
})

describe("journal script", () => {
  it("down from the first failed probe after a success until the next success; transitions kept", () => {
    const unhealthy: BackendEvent = {
      _tag: "HealthChanged",
      at: 1_500,
      backend: "b",
      healthy: false,
      reason: "2 consecutive failed probes"
    }
    const script = scriptOf([
      added("a", 0),
      added("b", 0),
      ok("b", 500),
      failed("b", 1_000),
      failed("b", 1_500),
      unhealthy,
      ok("b", 3_000),
      failed("a", 4_000)
    ])
    assert.deepStrictEqual(script.members.map((member) => member.spec.name), ["a", "b"])
    assert.deepStrictEqual(script.downs, [
      { backend: "b", lastUp: 500, failedAt: 1_000, upAt: 3_000 },
      { backend: "a", lastUp: 0, failedAt: 4_000, upAt: Number.POSITIVE_INFINITY }
    ])
    assert.deepStrictEqual(script.transitions, [unhealthy])
  })

  it("a period's changes: down at the last sign of life (never after the failed probe), up at the success", () => {
    const period = { backend: "b", lastUp: 500, failedAt: 1_000, upAt: 3_000 }
    assert.deepStrictEqual(downChanges(period, 800, 100), [{ atMs: 700, down: true }, { atMs: 2_900, down: false }])
    assert.deepStrictEqual(downChanges(period, 2_000, 100)[0], { atMs: 900, down: true })
    assert.deepStrictEqual(downChanges({ ...period, upAt: Number.POSITIVE_INFINITY }, 0, 0), [{
      atMs: 500,
      down: true
    }])
  })

  it("property: a backend's down periods never overlap, each inside its probes", () =>
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom("a", "b"), fc.boolean()), { maxLength: 60 }),
      (probes) => {
        const events = [
          added("a", 0),
          added("b", 0),
          ...probes.map(([backend, up], i) => up ? ok(backend, i + 1) : failed(backend, i + 1))
        ]
        const { downs } = scriptOf(events)
        for (const name of ["a", "b"]) {
          const mine = downs.filter((period) => period.backend === name)
          mine.forEach((period, i) => {
            assert.isAtMost(period.lastUp, period.failedAt)
            assert.isBelow(period.failedAt, period.upAt)
            const next = mine[i + 1]
            if (next !== undefined) assert.isAtMost(period.upAt, next.lastUp)
          })
          const failures = probes.filter(([backend, up], i) =>
            backend === name && !up && probes.slice(0, i).findLast(([b]) => b === name)?.[1] !== false
          )
          assert.strictEqual(mine.length, failures.length)
        }
      }
    )))
})
