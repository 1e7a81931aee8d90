/**
 * The journal's promise: folding what it records (lifecycle events, no per-request events)
 * gives back the live health, circuit and membership of every backend.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, PubSub } from "effect"
import fc from "fast-check"
import type { BackendEvent, RequestOutcome } from "../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../src/domain/BackendPolicy.ts"
import type { BackendState } from "../../src/domain/BackendState.ts"
import { replay } from "../../src/domain/Timeline.ts"
import { makeBackendRegistry } from "../../src/layers/BackendRegistryLive.ts"

const names = ["a", "b"] as const
const policy = {
  ...defaultPolicy,
  failureThreshold: 2,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  halfOpenRequests: 1
}

/** What a live proxy could go through: requests, probes, the breaker's timer, membership. */
type Step =
  | { readonly kind: "request"; readonly backend: string; readonly outcome: RequestOutcome }
  | { readonly kind: "probe"; readonly backend: string; readonly ok: boolean }
  | { readonly kind: "half-open"; readonly backend: string }
  | { readonly kind: "remove"; readonly backend: string }
  | { readonly kind: "add"; readonly backend: string }

const step: fc.Arbitrary<Step> = fc.constantFrom(...names).chain((backend) =>
  fc.oneof(
    fc.constantFrom<RequestOutcome>("success", "timeout", "reset", "server-error", "aborted").map((outcome): Step => ({
      kind: "request",
      backend,
      outcome
    })),
    fc.boolean().map((ok): Step => ({ kind: "probe", backend, ok })),
    fc.constant<Step>({ kind: "half-open", backend }),
    fc.constant<Step>({ kind: "remove", backend }),
    fc.constant<Step>({ kind: "add", backend })
  )
)

const essence = (state: BackendState | undefined) =>
  state === undefined
    ? undefined
    : {
      removed: state.removed,
      healthy: state.healthy,
      circuit: state.circuit._tag === "Open" ? state.circuit : state.circuit._tag,
      epoch: state.epoch
    }

describe("journal replay", () => {
  it.effect("property: replaying the journaled events reproduces the live health, circuit and membership", () =>
    Effect.gen(function*() {
      const samples = fc.sample(fc.array(step, { maxLength: 120 }), { numRuns: 60, seed: 7 })
      for (const steps of samples) {
        const registry = yield* makeBackendRegistry
        const journal = yield* registry.subscribe()
        let at = 0
        for (const name of names) {
          registry.emit({ _tag: "BackendAdded", at, spec: { name, url: `http://${name}:80`, weight: 1 }, policy })
        }
        for (const s of steps) {
          at += 10
          const state = registry.get(s.backend)
          switch (s.kind) {
            case "request": {
              if (state === undefined) break
              registry.emit({ _tag: "RequestStarted", at, backend: s.backend, epoch: state.epoch, attempt: 1 })
              registry.emit({
                _tag: "RequestFinished",
                at,
                backend: s.backend,
                epoch: state.epoch,
                outcome: s.outcome,
                latencyMs: 1
              })
              break
            }
            case "probe":
              registry.emit(
                s.ok
                  ? { _tag: "ProbeSucceeded", at, backend: s.backend, latencyMs: 1 }
                  : { _tag: "ProbeFailed", at, backend: s.backend, reason: "HTTP 500" }
              )
              break
            case "half-open":
              registry.emit({ _tag: "CircuitHalfOpened", at, backend: s.backend })
              break
            case "remove":
              registry.emit({ _tag: "BackendRemoved", at, backend: s.backend })
              break
            case "add":
              registry.emit({
                _tag: "BackendAdded",
                at,
                spec: { name: s.backend, url: `http://${s.backend}:80`, weight: 1 },
                policy
              })
          }
        }
        const journaled: Array<BackendEvent> = yield* PubSub.takeUpTo(journal, Number.POSITIVE_INFINITY)
        assert.isFalse(journaled.some((e) => e._tag === "RequestStarted" || e._tag === "RequestFinished"))
        const replayed = replay(journaled).states
        for (const name of names) {
          assert.deepStrictEqual(
            essence(replayed.get(name)),
            essence(registry.get(name)),
            `${name} after ${JSON.stringify(steps)}`
          )
        }
      }
    }))
})
