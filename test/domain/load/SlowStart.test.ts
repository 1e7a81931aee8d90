import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../src/domain/BackendEvent.ts"
import { evolve } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { rampPercent, rampSteps } from "../../../src/domain/load/SlowStart.ts"
import { fullPolicy, spec } from "../arbitraries.ts"

const settings = fc.record({
  windowMs: fc.integer({ min: 1, max: 600_000 }),
  minWeightPercent: fc.integer({ min: 1, max: 100 }),
  aggression: fc.double({ min: 0.1, max: 10, noNaN: true })
})

const fold = (events: ReadonlyArray<BackendEvent>, from?: BackendState) =>
  events.reduce<BackendState | undefined>((state, e) => evolve(state, e), from)

describe("slow start", () => {
  it("property: the weight never falls as time passes, starts at minWeightPercent and is full at the window's end", () => {
    fc.assert(fc.property(settings, fc.nat(1_000_000), fc.nat(1_000_000), (slowStart, a, b) => {
      const [early, late] = a <= b ? [a, b] : [b, a]
      assert.isAtMost(rampPercent(early, slowStart), rampPercent(late, slowStart))
      assert.strictEqual(rampPercent(0, slowStart), slowStart.minWeightPercent)
      assert.strictEqual(rampPercent(slowStart.windowMs, slowStart), 100)
      assert.isAtLeast(rampPercent(early, slowStart), slowStart.minWeightPercent)
      assert.isAtMost(rampPercent(late, slowStart), 100)
    }))
  })

  it("is a straight line at aggression 1; faster early above it (Envoy's curve)", () => {
    const linear = { windowMs: 10_000, minWeightPercent: 10, aggression: 1 }
    assert.deepStrictEqual([2_500, 5_000, 7_500].map((t) => rampPercent(t, linear)), [25, 50, 75])
    assert.closeTo(rampPercent(2_500, { ...linear, aggression: 2 }), 50, 1e-9)
  })

  it("property: steps move forward in time and weight, and the last is 100 % at the window's end", () => {
    fc.assert(fc.property(settings, (slowStart) => {
      const steps = rampSteps(slowStart)
      assert.isAtLeast(steps.length, 1)
      assert.isAtMost(steps.length, 20)
      steps.slice(1).forEach((step, i) => {
        assert.isAbove(step.afterMs, steps[i]?.afterMs ?? 0)
        assert.isAtLeast(step.percent, steps[i]?.percent ?? 0)
      })
      assert.deepStrictEqual(steps.at(-1), { afterMs: slowStart.windowMs, percent: 100 })
    }))
  })

  const added: BackendEvent = { _tag: "BackendAdded", at: 0, spec, policy: fullPolicy }
  const probe = (at: number, ok: boolean): BackendEvent =>
    ok
      ? { _tag: "ProbeSucceeded", at, backend: "a", latencyMs: 1 }
      : { _tag: "ProbeFailed", at, backend: "a", reason: "HTTP 500" }

  it("warms a backend up when it joins, when its health comes back and when its circuit closes", () => {
    assert.deepInclude(fold([added]), { weightPercent: 10, warmingSince: 0 })
    const warm = fold([added, { _tag: "WarmupProgressed", at: 10_000, backend: "a", percent: 100 }])
    assert.deepInclude(warm, { weightPercent: 100, warmingSince: undefined })
    const downAndUp = fold(
      [probe(11_000, false), probe(12_000, false), probe(13_000, false), probe(14_000, true)],
      warm
    )
    assert.deepInclude(downAndUp, { healthy: false, weightPercent: 100 })
    assert.deepInclude(fold([probe(15_000, true)], downAndUp), {
      healthy: true,
      weightPercent: 10,
      warmingSince: 15_000
    })
    const reopened = fold([
      { _tag: "CircuitOpened", at: 20_000, backend: "a", until: 21_000, trips: 1, reason: "r" },
      { _tag: "CircuitClosed", at: 22_000, backend: "a" }
    ], warm)
    assert.deepInclude(reopened, { weightPercent: 10, warmingSince: 22_000 })
  })

  it("without slowStart a backend is at full weight from the start", () => {
    const { slowStart: _, ...withoutSlowStart } = fullPolicy
    assert.deepInclude(fold([{ _tag: "BackendAdded", at: 0, spec, policy: withoutSlowStart }]), {
      weightPercent: 100,
      warmingSince: undefined
    })
  })
})
