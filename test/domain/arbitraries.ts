/** Arbitrary backend events for properties: anything a journal about backend "a" could hold. */
import fc from "fast-check"
import type { BackendEvent, RequestOutcome } from "../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../src/domain/BackendPolicy.ts"
import type { BackendPolicy } from "../../src/domain/BackendPolicy.ts"

export const spec = { name: "a", url: "http://a:1", weight: 1 }
export const policy: BackendPolicy = {
  ...defaultPolicy,
  failureThreshold: 3,
  halfOpenRequests: 2,
  resetTimeoutMs: 1_000
}
export const added: BackendEvent = { _tag: "BackendAdded", at: 0, spec, policy }

/** `policy` with every opt-in rule on: outlier ejection, slow start, peak-EWMA refinements, Retry-After. */
export const fullPolicy: BackendPolicy = {
  ...policy,
  ejection: { baseMs: 1_000, maxMs: 5_000, maxPercent: 50 },
  slowStart: { windowMs: 10_000, minWeightPercent: 10, aggression: 1 },
  peakDefaultRttMs: 30,
  failurePenaltyMs: 1_000,
  retryAfterMaxMs: 2_000
}

export const outcomes: ReadonlyArray<RequestOutcome> = [
  "success",
  "server-error",
  "connect-failed",
  "reset",
  "timeout",
  "bad-response",
  "overloaded",
  "aborted"
]

/** Any event about backend "a", at any time, in any epoch: what an arbitrary journal could hold. */
export const event: fc.Arbitrary<BackendEvent> = fc.record({
  at: fc.nat(100_000),
  epoch: fc.nat(6),
  attempt: fc.integer({ min: 1, max: 3 })
}).chain(({ at, attempt, epoch }) =>
  fc.oneof(
    fc.constantFrom(policy, fullPolicy).map((p): BackendEvent => ({ _tag: "BackendAdded", at, spec, policy: p })),
    fc.constant<BackendEvent>({ _tag: "BackendRemoved", at, backend: "a" }),
    fc.constant<BackendEvent>({ _tag: "BackendDrained", at, backend: "a" }),
    fc.constant<BackendEvent>({ _tag: "BackendUndrained", at, backend: "a" }),
    fc.constant<BackendEvent>({ _tag: "RequestStarted", at, backend: "a", epoch, attempt }),
    fc.constantFrom(...outcomes).map((outcome): BackendEvent => ({
      _tag: "RequestFinished",
      at,
      backend: "a",
      epoch,
      outcome,
      latencyMs: at % 97
    })),
    fc.constant<BackendEvent>({
      _tag: "RequestFinished",
      at,
      backend: "a",
      epoch,
      outcome: "overloaded",
      latencyMs: 1,
      retryAfterMs: 1_500
    }),
    fc.constant<BackendEvent>({ _tag: "ProbeSucceeded", at, backend: "a", latencyMs: 1 }),
    fc.constant<BackendEvent>({ _tag: "ProbeFailed", at, backend: "a", reason: "HTTP 500" }),
    fc.constant<BackendEvent>({ _tag: "CircuitHalfOpened", at, backend: "a" }),
    fc.boolean().map((healthy): BackendEvent => ({ _tag: "HealthChanged", at, backend: "a", healthy, reason: "r" })),
    fc.constant<BackendEvent>({ _tag: "CircuitOpened", at, backend: "a", until: at + 1_000, trips: 1, reason: "r" }),
    fc.constant<BackendEvent>({ _tag: "CircuitClosed", at, backend: "a" }),
    fc.constant<BackendEvent>({ _tag: "EjectionDeclined", at, backend: "a", reason: "r" }),
    fc.integer({ min: 10, max: 100 }).map((percent): BackendEvent => ({
      _tag: "WarmupProgressed",
      at,
      backend: "a",
      percent
    }))
  )
)
