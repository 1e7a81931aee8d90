/**
 * Active health checks: real backends answering `/health` over loopback, with the probe cadence
 * and timeouts on the TestClock, so every interval is crossed exactly.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../src/domain/BackendPolicy.ts"
import { BackendRegistryLive } from "../../src/layers/BackendRegistryLive.ts"
import { HealthProbeLive } from "../../src/layers/HealthProbeLive.ts"
import { HealthSupervisorLive } from "../../src/layers/HealthSupervisorLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"
import { startBackend } from "../support/Backends.ts"
import type { TestBackend } from "../support/Backends.ts"

/** A backend whose `/health` answers with `status.code`, or never when it is 0. */
const healthBackend = (name: string, status: { code: number }) =>
  startBackend(name, (request, response) => {
    request.resume()
    if (status.code !== 0) {
      response.writeHead(status.code)
      response.end()
    }
  })

const supervise = (backends: ReadonlyArray<TestBackend>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(HealthSupervisorLive.pipe(
      Layer.provide(HealthProbeLive),
      Layer.provideMerge(BackendRegistryLive),
      Layer.provide(ProxyConfigLive.fromObject({
        backends: backends.map((b) => ({ name: b.name, url: b.url })),
        healthCheck: { path: "/health", interval: "5s", timeout: "2s", healthyThreshold: 2, unhealthyThreshold: 3 }
      }))
    ))
    const registry = Context.get(context, BackendRegistry)
    const events: Array<BackendEvent> = []
    yield* Stream.fromSubscription(yield* registry.subscribe()).pipe(
      Stream.runForEach((e) => Effect.sync(() => events.push(e))),
      Effect.forkScoped
    )
    return { registry, events }
  })

/** Lets the probes started by a clock move finish their real round trips. */
const probesSettle = (events: ReadonlyArray<BackendEvent>, count: number): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.callback<void>((resume) => {
    const check = setInterval(() => {
      if (events.filter((e) => e._tag === "ProbeSucceeded" || e._tag === "ProbeFailed").length >= count) {
        clearInterval(check)
        resume(Effect.void)
      }
    }, 2)
    return Effect.sync(() => clearInterval(check))
  }).pipe(Effect.timeout("5 seconds"))

const tags = (events: ReadonlyArray<BackendEvent>) =>
  events
    .filter((e) => e._tag !== "BackendAdded")
    .map((e) => e._tag === "HealthChanged" ? `HealthChanged(${e.healthy})@${e.at}` : `${e._tag}@${e.at}`)

describe("health supervisor", () => {
  it.effect("probes each backend at once, then every interval", () =>
    Effect.gen(function*() {
      const status = { code: 200 }
      const backend = yield* healthBackend("a", status)
      const { events } = yield* supervise([backend])
      yield* probesSettle(events, 1)
      for (let i = 1; i <= 3; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* probesSettle(events, i + 1)
      }
      assert.strictEqual(backend.arrivals(), 4)
      assert.deepStrictEqual(backend.deliveries.map((d) => d.url), ["/health", "/health", "/health", "/health"])
      assert.deepStrictEqual(tags(events), [
        "ProbeSucceeded@0",
        "ProbeSucceeded@5000",
        "ProbeSucceeded@10000",
        "ProbeSucceeded@15000"
      ])
    }))

  it.effect("takes a backend out after unhealthyThreshold failures and back after healthyThreshold successes", () =>
    Effect.gen(function*() {
      const status = { code: 500 }
      const backend = yield* healthBackend("a", status)
      const { events, registry } = yield* supervise([backend])
      yield* probesSettle(events, 1)
      for (let probe = 2; probe <= 3; probe++) {
        yield* TestClock.adjust("5 seconds")
        yield* probesSettle(events, probe)
      }
      assert.isFalse(registry.get("a")?.healthy)
      status.code = 204
      for (let probe = 4; probe <= 5; probe++) {
        yield* TestClock.adjust("5 seconds")
        yield* probesSettle(events, probe)
      }
      assert.isTrue(registry.get("a")?.healthy)
      assert.deepStrictEqual(tags(events), [
        "ProbeFailed@0",
        "ProbeFailed@5000",
        "ProbeFailed@10000",
        "HealthChanged(false)@10000",
        "ProbeSucceeded@15000",
        "ProbeSucceeded@20000",
        "HealthChanged(true)@20000"
      ])
      const reason = events.find((e) => e._tag === "HealthChanged" && !e.healthy)
      assert.deepInclude(reason, { reason: "3 consecutive failed probes, the last: HTTP 500" })
    }))

  it.effect("a probe that gets no answer within the timeout fails when the timeout ends", () =>
    Effect.gen(function*() {
      const backend = yield* healthBackend("silent", { code: 0 })
      const { events } = yield* supervise([backend])
      yield* Effect.callback<void>((resume) => {
        const check = setInterval(() => {
          if (backend.arrivals() === 1) {
            clearInterval(check)
            resume(Effect.void)
          }
        }, 2)
      })
      yield* TestClock.adjust("1999 millis")
      assert.deepStrictEqual(tags(events), [])
      yield* TestClock.adjust("1 millis")
      yield* probesSettle(events, 1)
      assert.deepStrictEqual(tags(events), ["ProbeFailed@2000"])
      assert.deepInclude(events[events.length - 1], { reason: "no answer within 2s" })
    }))

  it.effect("probes start for an added backend and stop for a removed one", () =>
    Effect.gen(function*() {
      const first = yield* healthBackend("first", { code: 200 })
      const second = yield* healthBackend("second", { code: 200 })
      const { events, registry } = yield* supervise([first])
      yield* probesSettle(events, 1)
      const policy = registry.get("first")?.policy ?? defaultPolicy
      registry.emit({ _tag: "BackendAdded", at: 0, spec: { name: "second", url: second.url, weight: 1 }, policy })
      yield* probesSettle(events, 2)
      registry.emit({ _tag: "BackendRemoved", at: 0, backend: "first" })
      yield* TestClock.adjust("5 seconds")
      yield* probesSettle(events, 3)
      yield* TestClock.adjust("5 seconds")
      yield* probesSettle(events, 4)
      assert.strictEqual(first.arrivals(), 1)
      assert.strictEqual(second.arrivals(), 3)
    }))
})
