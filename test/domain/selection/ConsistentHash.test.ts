import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { ConsistentHash, cookieHash } from "../../../src/domain/selection/ConsistentHash.ts"
import { hash32 } from "../../../src/domain/selection/Hash.ts"
import type { RequestFacts } from "../../../src/domain/selection/Strategy.ts"
import { env, factsFrom, pool, settings } from "./fixtures.ts"

const keys = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)

/** Where each of the 10,000 keys goes, by backend name, for a ring built from `backends`. */
const placement = (backends: ReadonlyArray<BackendState>): Array<string> => {
  const selector = ConsistentHash.build(backends, env, settings)
  return keys.map((key) => selector.pick(backends, factsFrom(key), undefined)?.spec.name ?? "none")
}

/** A pool of distinctly named backends (the ring hashes names, so tests vary them). */
const named = (names: ReadonlyArray<string>, weights: ReadonlyArray<number> = []) =>
  pool(names.map((_, i) => weights[i] ?? 1), (state, i) => ({
    ...state,
    spec: { ...state.spec, name: names[i] ?? state.spec.name }
  }))

const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { minLength: 3, maxLength: 10 })

describe("consistent-hash", () => {
  it("property: a key keeps its backend, across picks and across rebuilds of the same pool", () => {
    fc.assert(
      fc.property(names, fc.string(), (backendNames, key) => {
        const backends = named(backendNames)
        const selector = ConsistentHash.build(backends, env, settings)
        const first = selector.pick(backends, factsFrom(key), undefined)
        for (let i = 0; i < 20; i++) assert.strictEqual(selector.pick(backends, factsFrom(key), undefined), first)
        assert.strictEqual(
          ConsistentHash.build(backends, env, settings).pick(backends, factsFrom(key), undefined),
          first
        )
      }),
      { numRuns: 50 }
    )
  })

  it("property: removing one of n backends moves only its own keys, about 1/n of them", () => {
    fc.assert(
      fc.property(names, fc.nat(), (backendNames, which) => {
        const backends = named(backendNames)
        const removed = backends[which % backends.length]?.spec.name
        const before = placement(backends)
        const after = placement(backends.filter((b) => b.spec.name !== removed))
        let moved = 0
        before.forEach((owner, i) => {
          if (owner === removed) moved++
          else assert.strictEqual(after[i], owner, `key ${keys[i]} moved off ${owner}`)
        })
        // With 160 points a backend's share strays from 1/n by 5 % at the median, 20 % at the 99th
        // percentile and 32 % at worst (measured over 2,000 backends in random pools): allow 40 %.
        assert.isAtMost(moved / keys.length, (1 / backends.length) * 1.4 + 0.01)
      }),
      { numRuns: 30 }
    )
  })

  it("property: adding a backend moves keys only onto the newcomer, about 1/(n+1) of them", () => {
    fc.assert(
      fc.property(names, (backendNames) => {
        const [newcomer, ...rest] = backendNames
        const backends = named(rest)
        const grown = named(backendNames)
        const before = placement(backends)
        const after = placement(grown)
        let moved = 0
        after.forEach((owner, i) => {
          if (owner === before[i]) return
          moved++
          assert.strictEqual(owner, newcomer, `key ${keys[i]} moved to ${owner}`)
        })
        assert.isAtMost(moved / keys.length, (1 / grown.length) * 1.4 + 0.01)
      }),
      { numRuns: 30 }
    )
  })

  it("shares follow weights: a weight-3 backend owns about three times the keys", () => {
    const counts = new Map<string, number>()
    for (const owner of placement(named(["a", "b", "c"], [3, 1, 1]))) counts.set(owner, (counts.get(owner) ?? 0) + 1)
    assert.closeTo((counts.get("a") ?? 0) / keys.length, 0.6, 0.06)
  })

  it("a backend that may not be used has its keys walked on, spread over the others", () => {
    const backends = named(["a", "b", "c", "d", "e"])
    const selector = ConsistentHash.build(backends, env, settings)
    const before = placement(backends)
    const down = backends.map((state) => state.spec.name === "c" ? { ...state, healthy: false } : state)
    const after = keys.map((key) => selector.pick(down, factsFrom(key), undefined)?.spec.name)
    const receivers = new Set<string>()
    before.forEach((owner, i) => {
      if (owner === "c") receivers.add(after[i] ?? "none")
      else assert.strictEqual(after[i], owner)
    })
    assert.notInclude([...receivers], "c")
    assert.isAtLeast(receivers.size, 3)
    // Excluded by a retry instead: the same walk.
    const retried = keys.map((key) => selector.pick(backends, factsFrom(key), new Set(["c"]))?.spec.name)
    assert.deepStrictEqual(retried, after)
  })

  it("finds none when none is selectable, after checking each backend once", () => {
    const backends = named(["a", "b", "c"])
    const selector = ConsistentHash.build(backends, env, settings)
    assert.isUndefined(selector.pick(backends, factsFrom("10.0.0.1"), new Set(["a", "b", "c"])))
    assert.strictEqual(selector.pick(backends, factsFrom("10.0.0.1"), new Set(["a", "b"]))?.spec.name, "c")
    assert.isUndefined(ConsistentHash.build([], env, settings).pick([], factsFrom("10.0.0.1"), undefined))
  })

  describe("keys (consistentHash.key)", () => {
    const backends = named(["a", "b", "c", "d", "e", "f", "g", "h"])
    const pickBy = (hashKey: string, facts: RequestFacts) =>
      ConsistentHash.build(backends, env, { hashKey }).pick(backends, facts, undefined)?.spec.name
    const byClient = (address: string) => pickBy("client-ip", factsFrom(address))
    /** Two values of the key that the ring places on different backends. */
    const apart = (place: (value: string) => string | undefined) => {
      const values = Array.from({ length: 64 }, (_, i) => `value-${i}`)
      const first = values[0] ?? ""
      const other = values.find((value) => place(value) !== place(first))
      if (other === undefined) throw new Error("64 values all on one backend")
      return [first, other] as const
    }

    it("client-ip (the default) places by the client address", () => {
      assert.strictEqual(settings.hashKey, "client-ip")
      const [x, y] = apart(byClient)
      assert.notStrictEqual(byClient(x), byClient(y))
    })

    it("path places by the request target, whoever sends it", () => {
      const byPath = (path: string, client = "10.0.0.1") => pickBy("path", factsFrom(client, {}, `/${path}`))
      const [x, y] = apart((path) => byPath(path))
      assert.strictEqual(byPath(x, "10.0.0.1"), byPath(x, "10.9.9.9"))
      assert.notStrictEqual(byPath(x), byPath(y))
    })

    it("header:<Name> places by that header, its name matched case-insensitively", () => {
      const byUser = (user: string, client = "10.0.0.1") =>
        pickBy("header:X-User", factsFrom(client, { "x-user": user }))
      const [x, y] = apart((user) => byUser(user))
      assert.strictEqual(byUser(x, "10.0.0.1"), byUser(x, "10.7.7.7"))
      assert.notStrictEqual(byUser(x), byUser(y))
    })

    it("cookie:<name> places by that cookie's value among the others", () => {
      const bySession = (session: string, client = "10.0.0.1") =>
        pickBy("cookie:sid", factsFrom(client, { cookie: `theme=dark; sid=${session}; xsid=zzz` }))
      const [x, y] = apart((session) => bySession(session))
      assert.strictEqual(bySession(x, "10.0.0.1"), bySession(x, "10.7.7.7"))
      assert.notStrictEqual(bySession(x), bySession(y))
    })

    it("a missing (or empty) header or cookie falls back to the client address", () => {
      for (const client of ["10.0.0.1", "10.0.0.2", "192.168.1.20", "2001:db8::1"]) {
        assert.strictEqual(pickBy("header:X-User", factsFrom(client)), byClient(client))
        assert.strictEqual(pickBy("header:X-User", factsFrom(client, { "x-user": "" })), byClient(client))
        assert.strictEqual(pickBy("cookie:sid", factsFrom(client)), byClient(client))
        assert.strictEqual(pickBy("cookie:sid", factsFrom(client, { cookie: "xsid=1; other=2" })), byClient(client))
        assert.strictEqual(pickBy("cookie:sid", factsFrom(client, { cookie: "sid=; other=2" })), byClient(client))
      }
    })

    it("finds a cookie's value wherever it stands, and only at a name boundary", () => {
      assert.strictEqual(cookieHash("sid=abc", "sid="), hash32("abc"))
      assert.strictEqual(cookieHash("a=1; sid=abc", "sid="), hash32("abc"))
      assert.strictEqual(cookieHash("a=1;sid=abc; b=2", "sid="), hash32("abc"))
      assert.strictEqual(cookieHash("xsid=no; sid=abc ", "sid="), hash32("abc"))
      assert.strictEqual(cookieHash("a=xsid=no", "sid="), -1)
      assert.strictEqual(cookieHash("xsid=no", "sid="), -1)
      assert.strictEqual(cookieHash("sid=", "sid="), -1)
      assert.strictEqual(cookieHash("", "sid="), -1)
    })
  })
})

describe("consistent-hash with bounded loads", () => {
  const bounded = { ...settings, balanceFactor: 125 }

  /** Places requests one after another, each staying in flight, some finishing on the way. */
  const place = (
    backends: Array<BackendState>,
    balanceFactor: number,
    requests: ReadonlyArray<{ readonly key: string; readonly finish: number }>,
    check: (pick: BackendState, cap: number) => void
  ) => {
    const selector = ConsistentHash.build(backends, env, { ...settings, balanceFactor })
    for (const { finish, key } of requests) {
      const index = finish % backends.length
      const done = backends[index]
      if (done !== undefined && done.inFlight > 0 && finish % 3 === 0) {
        backends[index] = { ...done, inFlight: done.inFlight - 1 }
      }
      const load = backends.filter((b) => b.healthy).reduce((sum, b) => sum + b.inFlight, 0)
      const eligible = backends.filter((b) => b.healthy).length
      const cap = Math.ceil((balanceFactor / 100) * (load + 1) / eligible)
      const pick = selector.pick(backends, factsFrom(key), undefined)
      if (pick === undefined) return assert.fail("a backend is selectable")
      check(pick, cap)
      const at = backends.indexOf(pick)
      backends[at] = { ...pick, inFlight: pick.inFlight + 1 }
    }
  }

  it("property: no backend goes over ⌈c · (in flight + 1) / n⌉ while another can take the request", () => {
    const request = fc.record({ key: fc.constantFrom("hot", "hot", "hot", "a", "b", "c", "d"), finish: fc.nat(50) })
    fc.assert(
      fc.property(
        names,
        fc.integer({ min: 100, max: 300 }),
        fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        fc.array(request, { maxLength: 200 }),
        (backendNames, balanceFactor, down, requests) => {
          const backends = named(backendNames).map((b, i) => ({ ...b, healthy: i === 0 || !down[i] }))
          place(backends, balanceFactor, requests, (pick, cap) => {
            assert.isTrue(pick.healthy)
            assert.isAtMost(pick.inFlight + 1, cap)
          })
        }
      ),
      { numRuns: 200 }
    )
  })

  it("a hot key spills over to the next backends on the ring instead of piling onto its own", () => {
    const backends = named(["alpha", "bravo", "charlie", "delta"])
    place(backends, 125, Array.from({ length: 40 }, () => ({ key: "hot", finish: 1 })), () => undefined)
    const loads = backends.map((b) => b.inFlight)
    assert.strictEqual(loads.reduce((a, b) => a + b, 0), 40)
    assert.isAtMost(Math.max(...loads), Math.ceil(1.25 * 40 / 4))
    const plain = named(["alpha", "bravo", "charlie", "delta"])
    const selector = ConsistentHash.build(plain, env, settings)
    const owner = selector.pick(plain, factsFrom("hot"), undefined)
    assert.strictEqual(
      backends.find((b) => b.spec.name === owner?.spec.name)?.inFlight,
      Math.max(...loads),
      "its owner still takes the most it may"
    )
  })

  it("while loads are even every key stays with its owner", () => {
    const backends = named(["alpha", "bravo", "charlie", "delta"]).map((b) => ({ ...b, inFlight: 3 }))
    const plain = ConsistentHash.build(backends, env, settings)
    const capped = ConsistentHash.build(backends, env, bounded)
    for (const key of keys.slice(0, 500)) {
      assert.strictEqual(
        capped.pick(backends, factsFrom(key), undefined),
        plain.pick(backends, factsFrom(key), undefined)
      )
    }
  })
})
