/** Which backend events an operator reads in the serve log, and at which level. */
import { assert, describe, it } from "@effect/vitest"
import { lifecycleLine } from "../../src/domain/LifecycleLog.ts"

describe("lifecycle log lines", () => {
  it("taking traffic away is a WARN, giving it back an INFO, each naming the backend and why", () => {
    assert.deepStrictEqual(
      lifecycleLine({ _tag: "HealthChanged", at: 0, backend: "api", healthy: false, reason: "HTTP 503" }),
      {
        level: "warn",
        backend: "api",
        message: "backend api is unhealthy: HTTP 503"
      }
    )
    assert.strictEqual(
      lifecycleLine({ _tag: "HealthChanged", at: 0, backend: "api", healthy: true, reason: "2 probes succeeded" })
        ?.level,
      "info"
    )
    assert.deepStrictEqual(
      lifecycleLine({
        _tag: "CircuitOpened",
        at: 0,
        backend: "api",
        until: Date.UTC(2026, 0, 1),
        trips: 2,
        reason: "5 failures"
      }),
      {
        level: "warn",
        backend: "api",
        message: "circuit of api opened until 2026-01-01T00:00:00.000Z (trip 2): 5 failures"
      }
    )
    assert.strictEqual(lifecycleLine({ _tag: "CircuitClosed", at: 0, backend: "api" })?.level, "info")
    assert.strictEqual(
      lifecycleLine({ _tag: "EjectionDeclined", at: 0, backend: "api", reason: "50% ejected" })?.level,
      "warn"
    )
    assert.match(lifecycleLine({ _tag: "BackendRemoved", at: 0, backend: "api" })?.message ?? "", /removed/)
  })

  it("probes, requests and warm-up steps stay out of the log (the journal and /events have them)", () => {
    assert.isUndefined(lifecycleLine({ _tag: "ProbeFailed", at: 0, backend: "api", reason: "refused" }))
    assert.isUndefined(lifecycleLine({ _tag: "ProbeSucceeded", at: 0, backend: "api", latencyMs: 1 }))
    assert.isUndefined(lifecycleLine({ _tag: "RequestStarted", at: 0, backend: "api", epoch: 0, attempt: 1 }))
    assert.isUndefined(lifecycleLine({ _tag: "WarmupProgressed", at: 0, backend: "api", percent: 50 }))
  })
})
