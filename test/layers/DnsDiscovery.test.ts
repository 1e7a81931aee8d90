/**
 * DNS discovery's timing under TestClock, with a resolver that answers from a zone the test
 * changes: when it asks again (the smallest TTL, the retry backoff), what the members become, and
 * how a reload starts, keeps or stops each source's resolution. Real DNS packets are in
 * `test/e2e/DnsDiscovery.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { decodeConfig } from "../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../src/domain/config/ConfigLoader.ts"
import type { FamilyAnswer } from "../../src/domain/discovery/DnsAnswer.ts"
import { BackendRegistryLive } from "../../src/layers/BackendRegistryLive.ts"
import { DnsDiscoveryLive } from "../../src/layers/DnsDiscoveryLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"
import { DnsResolver } from "../../src/services/DnsResolver.ts"
import { ReloadTarget } from "../../src/services/ReloadTarget.ts"

const records = (ttl: number, ...addresses: ReadonlyArray<string>): FamilyAnswer => ({
  _tag: "Records",
  records: addresses.map((address) => ({ address, ttl }))
})
const servfail: FamilyAnswer = { _tag: "Failed", reason: "ESERVFAIL" }

const api = { name: "api", url: "http://api.internal:9000", discovery: "dns" }
const file = (backends: ReadonlyArray<Record<string, unknown>>) => ({ backends })

const decoded = (value: unknown): Config => {
  const result = decodeConfig({ file: "t", value, env: {} })
  return Result.isFailure(result) ? assert.fail(result.failure.message) : result.success
}

/** Discovery over a zone the test edits; the registry; when each host was asked (Clock ms). */
const discovery = (config: unknown, zone: Map<string, readonly [FamilyAnswer, FamilyAnswer]>) =>
  Effect.gen(function*() {
    const asked: Array<number> = []
    const resolver = DnsResolver.of({
      resolve: (host, family) =>
        Effect.gen(function*() {
          if (family === 4) asked.push(yield* Clock.currentTimeMillis)
          return zone.get(host)?.[family === 4 ? 0 : 1] ?? servfail
        })
    })
    // The data path underneath: here, only the registry.
    const data = Layer.effect(
      ReloadTarget,
      Effect.map(
        BackendRegistry,
        (registry) => ReloadTarget.of({ apply: ({ events }) => events.forEach(registry.emit) })
      )
    )
    const context = yield* Layer.build(DnsDiscoveryLive.pipe(
      Layer.provide(Layer.merge(data, Layer.succeed(DnsResolver, resolver))),
      Layer.provideMerge(BackendRegistryLive),
      Layer.provide(ProxyConfigLive.fromObject(config))
    ))
    const registry = Context.get(context, BackendRegistry)
    const members = () => registry.all().filter((state) => !state.removed).map((state) => state.spec.name).sort()
    return { asked, members, registry, target: Context.get(context, ReloadTarget) }
  })

describe("DNS discovery timing", () => {
  it.effect("resolves before it is built, then again when the smallest TTL runs out, not a moment before", () =>
    Effect.gen(function*() {
      const zone = new Map([["api.internal", [records(10, "10.0.0.1"), records(5, "::1")] as const]])
      const { asked, members } = yield* discovery(file([api]), zone)
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "api@::1"])
      zone.set("api.internal", [records(5, "10.0.0.2", "10.0.0.1"), records(5)])
      yield* TestClock.adjust("4999 millis")
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "api@::1"])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "api@10.0.0.2"])
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual(asked, [0, 5_000, 10_000])
    }))

  it.effect("a failing DNS keeps the members and is retried at 1, 2, 4 s; the answer it comes back with is taken", () =>
    Effect.gen(function*() {
      const zone = new Map([["api.internal", [records(60, "10.0.0.1", "10.0.0.2"), records(60)] as const]])
      const { asked, members } = yield* discovery(file([api]), zone)
      zone.set("api.internal", [servfail, servfail])
      yield* TestClock.adjust("67 seconds")
      assert.deepStrictEqual(asked, [0, 60_000, 61_000, 63_000, 67_000])
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "api@10.0.0.2"])
      zone.set("api.internal", [records(0), records(0)])
      yield* TestClock.adjust("8 seconds")
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "api@10.0.0.2"], "no address at all is a failure too")
      zone.set("api.internal", [records(30, "10.0.0.3"), records(30)])
      yield* TestClock.adjust("16 seconds")
      assert.deepStrictEqual(members(), ["api@10.0.0.3"])
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(asked.slice(-3), [75_000, 91_000, 121_000])
    }))

  it.effect("a config change leaves an unchanged source alone, starts a changed one over at once, stops a removed one", () =>
    Effect.gen(function*() {
      const zone = new Map([
        ["api.internal", [records(60, "10.0.0.1"), records(60)] as const],
        ["web.internal", [records(60, "10.0.1.1"), records(60)] as const]
      ])
      const { asked, members, registry, target } = yield* discovery(file([api]), zone)
      const reload = (value: unknown) => target.apply({ next: decoded(value), text: "", events: [] })

      yield* TestClock.adjust("10 seconds")
      reload(file([api]))
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(asked, [0])

      reload(file([{ ...api, weight: 2 }, { name: "web", url: "http://web.internal", discovery: "dns" }]))
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(asked, [0, 10_000, 10_000])
      assert.deepStrictEqual(members(), ["api@10.0.0.1", "web@10.0.1.1"])
      // The change said nothing of the members (as a backends-API edit of the source does not).
      assert.strictEqual(registry.get("api@10.0.0.1")?.spec.weight, 2)

      reload(file([{ name: "static", url: "http://10.0.2.1" }]))
      yield* TestClock.adjust("5 minutes")
      assert.deepStrictEqual(asked, [0, 10_000, 10_000])
      assert.deepStrictEqual(members(), [], "the members leave with their sources")
    }))
})
