import { assert, describe, it } from "@effect/vitest"
import {
  isCacheableRequest,
  parseCacheControl,
  storability,
  varyKey,
  varyNames
} from "../../../src/domain/cache/CachePolicy.ts"
import type { HeaderLookup } from "../../../src/domain/cache/CachePolicy.ts"

const headers = (values: Record<string, string | Array<string>>): HeaderLookup => (name) => values[name]

describe("cache policy", () => {
  it("reads Cache-Control directives across lines, case-insensitively, quoted values too", () => {
    assert.deepStrictEqual(parseCacheControl(["Public, Max-Age=60", "s-maxage=\"120\", no-cache"]), {
      noStore: false,
      noCache: true,
      private: false,
      maxAge: 60,
      sMaxAge: 120
    })
    assert.isUndefined(parseCacheControl("max-age=soon").maxAge)
  })

  it("serves only plain GET and HEAD requests from the cache", () => {
    assert.isTrue(isCacheableRequest("GET", headers({})))
    assert.isTrue(isCacheableRequest("HEAD", headers({ "cache-control": "max-age=5" })))
    assert.isFalse(isCacheableRequest("POST", headers({})))
    assert.isFalse(isCacheableRequest("GET", headers({ authorization: "Bearer x" })))
    for (const control of ["no-store", "no-cache", "max-age=0"]) {
      assert.isFalse(isCacheableRequest("GET", headers({ "cache-control": control })), control)
    }
  })

  it("stores only responses with explicit freshness and nothing private", () => {
    const verdict = (status: number, values: Record<string, string | Array<string>>) =>
      storability(status, headers(values), 300_000)
    assert.deepStrictEqual(verdict(200, { "cache-control": "max-age=60" }), { store: true, ttlMs: 60_000, vary: [] })
    assert.deepStrictEqual(verdict(200, { "cache-control": "max-age=60, s-maxage=10" }), {
      store: true,
      ttlMs: 10_000,
      vary: []
    })
    assert.deepStrictEqual(verdict(200, { "cache-control": "max-age=86400" }), {
      store: true,
      ttlMs: 300_000,
      vary: []
    })
    assert.deepStrictEqual(verdict(404, { "cache-control": "max-age=5", vary: "Accept-Encoding, accept" }), {
      store: true,
      ttlMs: 5_000,
      vary: ["accept", "accept-encoding"]
    })
    const refused: Array<readonly [number, Record<string, string | Array<string>>]> = [
      [200, {}],
      [200, { "cache-control": "max-age=0" }],
      [200, { "cache-control": "no-store, max-age=60" }],
      [200, { "cache-control": "private, max-age=60" }],
      [200, { "cache-control": "no-cache, max-age=60" }],
      [200, { "cache-control": "max-age=60", "set-cookie": ["a=1"] }],
      [200, { "cache-control": "max-age=60", vary: "*" }],
      [500, { "cache-control": "max-age=60" }],
      [206, { "cache-control": "max-age=60" }]
    ]
    for (const [status, values] of refused) {
      assert.isFalse(verdict(status, values).store, JSON.stringify([status, values]))
    }
  })

  it("keys variants by the values of the Vary headers", () => {
    const names = varyNames("Accept-Encoding")
    assert.notStrictEqual(
      varyKey(names, headers({ "accept-encoding": "gzip" })),
      varyKey(names, headers({ "accept-encoding": "br" }))
    )
    assert.strictEqual(varyKey([], headers({ "accept-encoding": "gzip" })), "")
  })
})
