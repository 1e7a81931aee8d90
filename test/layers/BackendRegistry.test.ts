import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../src/domain/BackendPolicy.ts"
import { makeBackendRegistry } from "../../src/layers/BackendRegistryLive.ts"

const added = (name: string, weight = 1): Extract<BackendEvent, { readonly _tag: "BackendAdded" }> => ({
  _tag: "BackendAdded",
  at: 0,
  spec: { name, url: `http://${name}:80`, weight },
  policy: defaultPolicy
})

describe("BackendRegistry", () => {
  it.effect("state changes only through events, and reads are immediate", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      registry.emit(added("a"))
      registry.emit(added("b"))
      registry.emit({ _tag: "RequestStarted", at: 5, backend: "b", epoch: 0, attempt: 1 })
      assert.deepStrictEqual(registry.pool().map((s) => [s.spec.name, s.inFlight]), [["a", 0], ["b", 1]])
      assert.strictEqual(registry.get("b")?.lastRequestAt, 5)
    }))

  it.effect("the pool array is replaced only when membership or specs change", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      registry.emit(added("a"))
      const before = registry.pool()
      const version = registry.version()
      registry.emit({ _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 })
      assert.strictEqual(registry.pool(), before)
      assert.strictEqual(registry.version(), version)
      registry.emit(added("a", 5))
      assert.notStrictEqual(registry.version(), version)
      assert.strictEqual(registry.pool()[0]?.spec.weight, 5)
    }))

  it.effect("a removed backend leaves the pool at once and the registry when drained", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      registry.emit(added("a"))
      registry.emit(added("b"))
      registry.emit({ _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 })
      registry.emit({ _tag: "BackendRemoved", at: 2, backend: "a" })
      assert.deepStrictEqual(registry.pool().map((s) => s.spec.name), ["b"])
      assert.deepStrictEqual(registry.all().map((s) => s.spec.name), ["a", "b"])
      registry.emit({ _tag: "RequestFinished", at: 3, backend: "a", epoch: 0, outcome: "success", latencyMs: 1 })
      assert.deepStrictEqual(registry.all().map((s) => s.spec.name), ["b"])
    }))

  it.effect("observers that ask for request events receive every event in order", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      const events = Stream.fromSubscription(yield* registry.subscribe({ requests: true }))
      const collected = yield* Stream.take(events, 3).pipe(Stream.runCollect, Effect.forkChild)
      registry.emit(added("a"))
      registry.emit({ _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 })
      registry.emit({ _tag: "RequestFinished", at: 2, backend: "a", epoch: 0, outcome: "success", latencyMs: 1 })
      const seen = yield* Fiber.join(collected)
      assert.deepStrictEqual(Array.from(seen).map((e) => e._tag), ["BackendAdded", "RequestStarted", "RequestFinished"])
    }))

  it.effect("an observer that never reads costs the emitter nothing but its oldest events", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      const stalled = Stream.fromSubscription(yield* registry.subscribe({ requests: true }))
      registry.emit(added("a"))
      for (let i = 0; i < 10_000; i++) {
        registry.emit({ _tag: "RequestStarted", at: i, backend: "a", epoch: 0, attempt: 1 })
        registry.emit({ _tag: "RequestFinished", at: i, backend: "a", epoch: 0, outcome: "success", latencyMs: 1 })
      }
      assert.strictEqual(registry.get("a")?.requests, 10_000)
      const kept = yield* Stream.take(stalled, 1).pipe(Stream.runCollect)
      // The first events were dropped to keep the buffer bounded; the newest remain.
      assert.notStrictEqual(Array.from(kept)[0]?._tag, "BackendAdded")
    }))

  it.effect("publishes the transitions an observation causes, right after it; lifecycle observers skip requests", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      const events = Stream.fromSubscription(yield* registry.subscribe())
      const collected = yield* Stream.take(events, 3).pipe(Stream.runCollect, Effect.forkChild)
      registry.emit({ ...added("a"), policy: { ...defaultPolicy, failureThreshold: 2 } })
      for (let i = 1; i <= 2; i++) {
        registry.emit({ _tag: "RequestStarted", at: i, backend: "a", epoch: 0, attempt: 1 })
        registry.emit({ _tag: "RequestFinished", at: i, backend: "a", epoch: 0, outcome: "timeout", latencyMs: 5 })
      }
      registry.emit({ _tag: "ProbeFailed", at: 3, backend: "a", reason: "HTTP 500" })
      const seen = Array.from(yield* Fiber.join(collected))
      assert.deepStrictEqual(seen.map((e) => e._tag), ["BackendAdded", "CircuitOpened", "ProbeFailed"])
      assert.deepInclude(seen[1], { at: 2, until: 2 + defaultPolicy.resetTimeoutMs, trips: 1 })
      assert.strictEqual(registry.pool()[0]?.circuit._tag, "Open")
    }))

  it.effect("a health or circuit change reshapes the pool; a request does not", () =>
    Effect.gen(function*() {
      const registry = yield* makeBackendRegistry
      registry.emit({ ...added("a"), policy: { ...defaultPolicy, unhealthyThreshold: 1 } })
      const version = registry.version()
      registry.emit({ _tag: "RequestStarted", at: 1, backend: "a", epoch: 0, attempt: 1 })
      assert.strictEqual(registry.version(), version)
      registry.emit({ _tag: "ProbeFailed", at: 2, backend: "a", reason: "refused" })
      assert.isAbove(registry.version(), version)
      assert.isFalse(registry.pool()[0]?.healthy)
    }))
})
