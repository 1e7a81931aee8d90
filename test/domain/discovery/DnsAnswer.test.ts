import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  maxTtlMs,
  minTtlMs,
  resolve,
  retryDelayMs,
  retryMaxMs,
  ttlDelayMs
} from "../../../src/domain/discovery/DnsAnswer.ts"
import type { FamilyAnswer } from "../../../src/domain/discovery/DnsAnswer.ts"

const records = (ttl: number, ...addresses: ReadonlyArray<string>): FamilyAnswer => ({
  _tag: "Records",
  records: addresses.map((address) => ({ address, ttl }))
})
const failed = (reason: string): FamilyAnswer => ({ _tag: "Failed", reason })
const none = records(0)

const v4s = fc.uniqueArray(fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.3"))
const v6s = fc.uniqueArray(fc.constantFrom("::1", "2001:db8::1"))
const family = (addresses: fc.Arbitrary<Array<string>>): fc.Arbitrary<FamilyAnswer> =>
  fc.oneof(
    fc.tuple(fc.nat(100_000), addresses).map(([ttl, list]) => records(ttl, ...list)),
    fc.constantFrom(failed("ESERVFAIL"), failed("ENOTFOUND"), failed("ETIMEOUT"))
  )

describe("DNS discovery: answers", () => {
  it("the next resolution is at the smallest TTL, at least 1 s and at most 5 min", () => {
    assert.strictEqual(ttlDelayMs([{ address: "a", ttl: 30 }, { address: "b", ttl: 10 }]), 10_000)
    assert.strictEqual(ttlDelayMs([{ address: "a", ttl: 0 }]), minTtlMs)
    assert.strictEqual(ttlDelayMs([{ address: "a", ttl: 86_400 }]), maxTtlMs)
  })

  it("retries back off from 1 s, doubling, to 30 s", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs), [
      1_000,
      2_000,
      4_000,
      8_000,
      16_000,
      30_000,
      30_000,
      30_000
    ])
  })

  it("an answer in full is taken as it is, IPv4 first, duplicates once", () => {
    assert.deepStrictEqual(resolve(["10.0.0.9"], records(30, "10.0.0.1", "10.0.0.1"), records(20, "::1"), 2), {
      addresses: ["10.0.0.1", "::1"],
      failure: undefined,
      failures: 0,
      nextInMs: 20_000
    })
    assert.deepStrictEqual(resolve([], records(5, "10.0.0.1"), none, 0).addresses, ["10.0.0.1"])
  })

  it("a failed family keeps its addresses in use; the other is taken; the retry comes soon", () => {
    assert.deepStrictEqual(resolve(["10.0.0.1", "::1"], records(30, "10.0.0.2"), failed("ETIMEOUT"), 0), {
      addresses: ["10.0.0.2", "::1"],
      failure: "AAAA ETIMEOUT",
      failures: 1,
      nextInMs: 1_000
    })
  })

  it("SERVFAIL, NXDOMAIN, and an answer with no address at all keep the last good answer", () => {
    const current = ["10.0.0.1", "::1"]
    assert.deepStrictEqual(resolve(current, failed("ESERVFAIL"), failed("ESERVFAIL"), 3), {
      addresses: current,
      failure: "A ESERVFAIL, AAAA ESERVFAIL",
      failures: 4,
      nextInMs: 8_000
    })
    assert.deepStrictEqual(resolve(current, failed("ENOTFOUND"), failed("ENOTFOUND"), 0).addresses, current)
    assert.deepStrictEqual(resolve(current, none, none, 0), {
      addresses: current,
      failure: "no A or AAAA records",
      failures: 1,
      nextInMs: 1_000
    })
  })

  it("property: a pool with addresses is never emptied by an answer, and waits stay within their bounds", () => {
    fc.assert(fc.property(v4s, v6s, family(v4s), family(v6s), fc.nat(10), (in4, in6, a, aaaa, failures) => {
      const current = [...in4, ...in6]
      const resolution = resolve(current, a, aaaa, failures)
      if (current.length > 0) assert.isAbove(resolution.addresses.length, 0)
      assert.isAtLeast(resolution.nextInMs, minTtlMs)
      assert.isAtMost(resolution.nextInMs, Math.max(maxTtlMs, retryMaxMs))
      assert.strictEqual(resolution.failures, resolution.failure === undefined ? 0 : failures + 1)
    }))
  })

  it("property: each family that answered is taken exactly; each that failed keeps exactly its own", () => {
    fc.assert(fc.property(v4s, v6s, family(v4s), family(v6s), (in4, in6, a, aaaa) => {
      const resolution = resolve([...in4, ...in6], a, aaaa, 0)
      const taken = (answer: FamilyAnswer, kept: ReadonlyArray<string>) =>
        answer._tag === "Records" ? answer.records.map((record) => record.address) : kept
      const expected = [...taken(a, in4), ...taken(aaaa, in6)]
      assert.deepStrictEqual(resolution.addresses, expected.length === 0 ? [...in4, ...in6] : expected)
    }))
  })
})
