import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendSpec } from "../../../src/domain/Backend.ts"
import { backendOf } from "../../../src/domain/BackendEvent.ts"
import { defaultPolicy } from "../../../src/domain/BackendPolicy.ts"
import type { BackendPolicy } from "../../../src/domain/BackendPolicy.ts"
import { evolve, initialState } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import {
  addressOf,
  canonicalAddress,
  discoveredMembers,
  followSources,
  isMemberOf,
  memberPolicy,
  membershipEvents,
  membersOf,
  memberSpec
} from "../../../src/domain/discovery/DnsMembers.ts"

const source: BackendSpec = { name: "api", url: "http://api.internal:9000/v1", weight: 2, pool: "edge" }
const probed: BackendPolicy = { ...defaultPolicy, probe: { path: "/health", intervalMs: 1_000, timeoutMs: 500 } }

/** Addresses of both families, some in non-canonical spellings. */
const addressPool = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1", "2001:db8::7", "2001:db8:0:0::8", "::ffff:1.2.3.4"]
const answers = fc.uniqueArray(fc.constantFrom(...addressPool.map(canonicalAddress)))

/** The registry as a fold of events over a map of states, as `BackendRegistryLive` keeps it. */
const fold = (states: ReadonlyArray<BackendState>, events: ReturnType<typeof membershipEvents>) => {
  const byName = new Map(states.map((state) => [state.spec.name, state]))
  for (const event of events) {
    const name = backendOf(event)
    const after = evolve(byName.get(name), event)
    if (after === undefined) byName.delete(name)
    else byName.set(name, after)
  }
  return [...byName.values()]
}

describe("DNS discovery: members", () => {
  it("a member is the source at one address: named name@address, the host swapped, the rest kept", () => {
    assert.deepStrictEqual(memberSpec(source, "10.0.0.1"), {
      name: "api@10.0.0.1",
      url: "http://10.0.0.1:9000/v1",
      weight: 2,
      pool: "edge",
      resolvedFrom: "api.internal"
    })
    const v6 = memberSpec(source, "2001:db8::7")
    assert.deepStrictEqual([v6.name, v6.url, addressOf(v6)], [
      "api@2001:db8::7",
      "http://[2001:db8::7]:9000/v1",
      "2001:db8::7"
    ])
    assert.strictEqual(canonicalAddress("::ffff:1.2.3.4"), "::ffff:102:304")
  })

  it("with health checks a member is probed before it takes traffic; without, it is in rotation at once", () => {
    const joined = (policy: BackendPolicy) =>
      evolve(undefined, {
        _tag: "BackendAdded",
        at: 0,
        spec: memberSpec(source, "10.0.0.1"),
        policy: memberPolicy(policy)
      })
    assert.strictEqual(joined(probed)?.healthy, false)
    assert.strictEqual(joined(defaultPolicy)?.healthy, true)
    const one = { ...probed, healthyThreshold: 1 }
    const admitted = evolve(joined(one), { _tag: "ProbeSucceeded", at: 1, backend: "api@10.0.0.1", latencyMs: 1 })
    assert.strictEqual(admitted?.healthy, true)
  })

  it("members belong to their source by host and name: a static backend or another source's member does not", () => {
    assert.isTrue(isMemberOf(source, memberSpec(source, "10.0.0.1")))
    assert.isFalse(isMemberOf(source, memberSpec({ ...source, name: "api2" }, "10.0.0.1")))
    assert.isFalse(isMemberOf(source, memberSpec({ ...source, url: "http://other:9000" }, "10.0.0.1")))
    assert.isFalse(isMemberOf(source, { name: "api", url: "http://10.0.0.1:9000", weight: 1 }))
  })

  it("property: after the events, the source's members are exactly one per answered address, and nothing else moved", () => {
    fc.assert(fc.property(answers, answers, (before, after) => {
      const others = [initialState({ name: "static", url: "http://10.0.0.1:9000", weight: 1 }, defaultPolicy)]
      const states = [...others, ...before.map((address) => initialState(memberSpec(source, address), probed))]
      const events = membershipEvents(source, probed, membersOf(source, states), after, 5)
      const folded = fold(states, events)
      assert.deepStrictEqual(
        membersOf(source, folded).map((state) => addressOf(state.spec)).sort(),
        [...after].sort()
      )
      assert.deepStrictEqual(folded.filter((state) => !isMemberOf(source, state.spec)), others)
    }))
  })

  it("property: the same answer again changes nothing, and joins always come before leaves", () => {
    fc.assert(fc.property(answers, answers, (before, after) => {
      const states = before.map((address) => initialState(memberSpec(source, address), probed))
      const events = membershipEvents(source, probed, membersOf(source, states), after, 5)
      const tags = events.map((event) => event._tag)
      assert.deepStrictEqual(tags, [...tags].sort())
      const folded = fold(states, events)
      assert.deepStrictEqual(membershipEvents(source, probed, membersOf(source, folded), after, 6), [])
    }))
  })

  it("property: an address read back from its member is the address it was made from", () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
      const canonical = canonicalAddress(address)
      assert.strictEqual(addressOf(memberSpec(source, canonical)), canonical)
      assert.strictEqual(canonicalAddress(canonical), canonical)
    }))
  })

  it("a vanished member with requests in flight leaves by draining: it finishes them, then is forgotten", () => {
    const member = { ...initialState(memberSpec(source, "10.0.0.1"), defaultPolicy), inFlight: 1 }
    const events = membershipEvents(source, defaultPolicy, [member], [], 9)
    assert.deepStrictEqual(events, [{ _tag: "BackendRemoved", at: 9, backend: "api@10.0.0.1" }])
    const [draining] = fold([member], events)
    assert.strictEqual(draining?.removed, true)
    const finished = evolve(draining, {
      _tag: "RequestFinished",
      at: 10,
      backend: "api@10.0.0.1",
      epoch: 0,
      outcome: "success",
      latencyMs: 1
    })
    assert.isUndefined(finished)
  })

  it("an edited source (the backends API) takes its members along: a new weight reaches them, a removal or new host ends them", () => {
    const states = ["10.0.0.1", "10.0.0.2"].map((address) =>
      initialState(memberSpec(source, address), memberPolicy(probed))
    )
    const before = [{ spec: source, policy: probed }]
    const heavier = followSources(before, [{ spec: { ...source, weight: 5 }, policy: probed }], states, 3)
    assert.deepStrictEqual(
      heavier.map((event) => event._tag === "BackendAdded" ? `${event.spec.name} ${event.spec.weight}` : event._tag),
      ["api@10.0.0.1 5", "api@10.0.0.2 5"]
    )
    const leaves = ["BackendRemoved api@10.0.0.1", "BackendRemoved api@10.0.0.2"]
    const described = (events: ReturnType<typeof followSources>) => events.map((e) => `${e._tag} ${backendOf(e)}`)
    assert.deepStrictEqual(described(followSources(before, [], states, 3)), leaves)
    const elsewhere = [{ spec: { ...source, url: "http://other.internal:9000" }, policy: probed }]
    assert.deepStrictEqual(described(followSources(before, elsewhere, states, 3)), leaves)
    assert.deepStrictEqual(followSources(before, before, states, 3), [])
  })

  it("property: once followed, the members are their sources' exactly, and following again does nothing", () => {
    const sources = fc.uniqueArray(
      fc.record({
        weight: fc.constantFrom(1, 2),
        host: fc.constantFrom("api.internal", "api2.internal"),
        policy: fc.constantFrom(probed, defaultPolicy)
      }).map(({ host, policy, weight }) => ({ spec: { ...source, weight, url: `http://${host}:9000` }, policy })),
      { maxLength: 1 }
    )
    fc.assert(fc.property(sources, sources, answers, (before, after, addresses) => {
      const states = before.flatMap(({ policy, spec }) =>
        addresses.map((address) => initialState(memberSpec(spec, address), memberPolicy(policy)))
      )
      const folded = fold(states, followSources(before, after, states, 1))
      assert.deepStrictEqual(followSources(after, after, folded, 2), [])
      for (const { policy, spec } of after) {
        const wanted = discoveredMembers(spec, policy, folded)
        assert.deepStrictEqual(
          membersOf(spec, folded).map((state) => [state.spec, state.policy]),
          wanted.map((m) => [m.spec, m.policy])
        )
      }
      const live = folded.filter((state) => !state.removed)
      assert.isTrue(live.every((state) => after.some(({ spec }) => isMemberOf(spec, state.spec))))
    }))
  })
})
