import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { HeaderLookup } from "../../../src/domain/cache/CachePolicy.ts"
import { lookup, makeStore, put } from "../../../src/domain/cache/ResponseStore.ts"
import type { StoredResponse } from "../../../src/domain/cache/ResponseStore.ts"

const none: HeaderLookup = () => undefined

const response = (bytes: number, expiresAt = 1_000, vary: ReadonlyArray<string> = []): StoredResponse => ({
  status: 200,
  statusMessage: undefined,
  headers: [],
  body: Buffer.alloc(bytes),
  backend: "a",
  storedAt: 0,
  expiresAt,
  vary
})

describe("response store", () => {
  it("evicts the least recently used entry first", () => {
    const store = makeStore({ maxEntries: 2, maxBytes: 1_000 })
    put(store, "a", none, response(1))
    put(store, "b", none, response(1))
    lookup(store, "a", none, 0)
    put(store, "c", none, response(1))
    assert.isDefined(lookup(store, "a", none, 0))
    assert.isUndefined(lookup(store, "b", none, 0), "b was the least recently used")
    assert.isDefined(lookup(store, "c", none, 0))
  })

  it("keeps the bytes under maxBytes and refuses a body larger than all of it", () => {
    const store = makeStore({ maxEntries: 100, maxBytes: 10 })
    put(store, "a", none, response(6))
    put(store, "b", none, response(6))
    assert.strictEqual(store.bytes, 6)
    assert.isFalse(put(store, "huge", none, response(11)))
  })

  it("an entry past its expiry is gone", () => {
    const store = makeStore({ maxEntries: 10, maxBytes: 100 })
    put(store, "a", none, response(1, 500))
    assert.isDefined(lookup(store, "a", none, 499))
    assert.isUndefined(lookup(store, "a", none, 500))
    assert.strictEqual(store.entries.size, 0)
  })

  it("stores one variant per combination of Vary header values", () => {
    const store = makeStore({ maxEntries: 10, maxBytes: 100 })
    const gzip: HeaderLookup = (name) => name === "accept-encoding" ? "gzip" : undefined
    const br: HeaderLookup = (name) => name === "accept-encoding" ? "br" : undefined
    put(store, "k", gzip, { ...response(1, 1_000, ["accept-encoding"]), backend: "gzip" })
    assert.isUndefined(lookup(store, "k", br, 0))
    put(store, "k", br, { ...response(1, 1_000, ["accept-encoding"]), backend: "br" })
    assert.strictEqual(lookup(store, "k", gzip, 0)?.backend, "gzip")
    assert.strictEqual(lookup(store, "k", br, 0)?.backend, "br")
  })

  it("property: whatever is stored, both limits hold", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e"), bytes: fc.nat(40) }), { maxLength: 100 }),
      (puts) => {
        const store = makeStore({ maxEntries: 3, maxBytes: 50 })
        for (const { bytes, key } of puts) {
          put(store, key, none, response(bytes))
          assert.isAtMost(store.entries.size, 3)
          assert.isAtMost(store.bytes, 50)
          assert.strictEqual(store.bytes, [...store.entries.values()].reduce((sum, e) => sum + e.body.length, 0))
        }
      }
    ))
  })
})
