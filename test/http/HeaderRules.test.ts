import { assert, describe, it } from "@effect/vitest"
import {
  connectionTokens,
  firstForwardedFor,
  forwardHeaders,
  isRelayableTransferEncoding,
  plainAddress,
  responseHeaders,
  scanRequestHead
} from "../../src/http/HeaderRules.ts"
import type { ForwardFacts } from "../../src/http/HeaderRules.ts"

const facts: ForwardFacts = {
  clientAddress: "10.1.1.1",
  proto: "http",
  generatedRequestId: undefined,
  trustProxy: false,
  tracing: false,
  host: undefined
}

/** As the exchange forwards an origin-form request: the authority is the `Host` sent. */
const forward = (raw: ReadonlyArray<string>, overrides: Partial<ForwardFacts> = {}) => {
  const head = scanRequestHead(raw)
  return forwardHeaders(raw, head, { ...facts, host: head.host, ...overrides })
}

const pairs = (flat: ReadonlyArray<string>) =>
  Array.from({ length: flat.length / 2 }, (_, i) => `${flat[2 * i]}: ${flat[2 * i + 1]}`)

describe("header rules", () => {
  it("passes end-to-end headers as sent, case and order kept, and appends the forwarding headers", () => {
    assert.deepStrictEqual(
      pairs(forward(["Host", "shop.example", "Accept", "*/*", "X-Custom", "a", "x-custom", "b"])),
      [
        "Host: shop.example",
        "Accept: */*",
        "X-Custom: a",
        "x-custom: b",
        "x-forwarded-for: 10.1.1.1",
        "x-forwarded-proto: http",
        "x-forwarded-host: shop.example"
      ]
    )
  })

  it("drops hop-by-hop headers, Expect, and every header Connection names", () => {
    const raw = [
      "Host",
      "h",
      "Connection",
      "keep-alive, X-Secret",
      "connection",
      "Upgrade",
      "X-Secret",
      "1",
      "Keep-Alive",
      "t",
      "Proxy-Connection",
      "k",
      "TE",
      "trailers",
      "Trailer",
      "x",
      "Transfer-Encoding",
      "chunked",
      "Upgrade",
      "h2c",
      "Expect",
      "100-continue",
      "X-Kept",
      "y"
    ]
    assert.deepStrictEqual(pairs(forward(raw)), [
      "Host: h",
      "X-Kept: y",
      "x-forwarded-for: 10.1.1.1",
      "x-forwarded-proto: http",
      "x-forwarded-host: h"
    ])
  })

  it("appends the client to every earlier X-Forwarded-For hop", () => {
    const out = pairs(forward(["Host", "h", "X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2, 3.3.3.3"]))
    assert.include(out, "x-forwarded-for: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.1.1")
  })

  it("sets X-Forwarded-Proto/-Host itself unless trustProxy lets an earlier proxy's through", () => {
    const raw = ["Host", "inner", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "outer.example"]
    assert.includeMembers(pairs(forward(raw)), ["x-forwarded-proto: http", "x-forwarded-host: inner"])
    assert.includeMembers(pairs(forward(raw, { trustProxy: true })), [
      "x-forwarded-proto: https",
      "x-forwarded-host: outer.example"
    ])
  })

  it("adds a generated request id only when the client sent none", () => {
    assert.include(pairs(forward(["Host", "h"], { generatedRequestId: "gen-1" })), "x-request-id: gen-1")
    assert.deepStrictEqual(pairs(forward(["Host", "h", "X-Request-Id", "mine"])).filter((p) => /request-id/i.test(p)), [
      "X-Request-Id: mine"
    ])
  })

  it("scans a head once: repeated Host and Content-Length, framing, expectations", () => {
    const head = scanRequestHead([
      "Host",
      "a",
      "host",
      "b",
      "Content-Length",
      "5",
      "Content-Length",
      "5",
      "Expect",
      "100-Continue",
      "X-Request-Id",
      "r"
    ])
    assert.deepInclude(head, { hostCount: 2, host: "a", contentLength: "5, 5", expectContinue: true, requestId: "r" })
    assert.isUndefined(head.transferEncoding)
  })

  it("answers the client without hop-by-hop headers, repeated headers repeated, the request id echoed", () => {
    const out = responseHeaders(
      [
        "Content-Type",
        "text/plain",
        "Connection",
        "X-Internal",
        "x-internal",
        "1",
        "Keep-Alive",
        "timeout=5",
        "Transfer-Encoding",
        "chunked",
        "Set-Cookie",
        "a=1",
        "Set-Cookie",
        "b=2",
        "X-Request-Id",
        "from-backend"
      ],
      "req-1",
      200
    )
    assert.deepStrictEqual(pairs(out), [
      "Content-Type: text/plain",
      "Set-Cookie: a=1",
      "Set-Cookie: b=2",
      "x-request-id: req-1"
    ])
  })

  it("replaces Host with the authority an absolute-form target names, and adds it when none was sent", () => {
    assert.deepStrictEqual(pairs(forward(["Host", "127.0.0.1", "Accept", "*/*"], { host: "other.example" })), [
      "Host: other.example",
      "Accept: */*",
      "x-forwarded-for: 10.1.1.1",
      "x-forwarded-proto: http",
      "x-forwarded-host: other.example"
    ])
    assert.include(pairs(forward(["Accept", "*/*"], { host: "a.example:8080" })), "host: a.example:8080")
  })

  it("drops headers that read as framing, hop-by-hop or forwarding headers once _ is -", () => {
    const raw = [
      "Host",
      "h",
      "Transfer_Encoding",
      "chunked",
      "Content_Length",
      "0",
      "X_Forwarded_For",
      "6.6.6.6",
      "connection_",
      "x",
      "X_Custom_Header",
      "kept",
      "My_Host",
      "kept too"
    ]
    assert.deepStrictEqual(pairs(forward(raw)), [
      "Host: h",
      "connection_: x",
      "X_Custom_Header: kept",
      "My_Host: kept too",
      "x-forwarded-for: 10.1.1.1",
      "x-forwarded-proto: http",
      "x-forwarded-host: h"
    ])
  })

  it("never gives a 204 or 304 a Content-Length, whatever the backend sent", () => {
    for (const status of [204, 304]) {
      assert.deepStrictEqual(pairs(responseHeaders(["Content-Length", "76", "ETag", "x"], "r", status)), [
        "ETag: x",
        "x-request-id: r"
      ])
    }
    assert.include(pairs(responseHeaders(["Content-Length", "76"], "r", 200)), "Content-Length: 76")
  })

  it("relays a response Transfer-Encoding only when it is chunked alone", () => {
    assert.isTrue(isRelayableTransferEncoding(undefined))
    assert.isTrue(isRelayableTransferEncoding("Chunked"))
    assert.isFalse(isRelayableTransferEncoding("chunked, chunked"))
    assert.isFalse(isRelayableTransferEncoding("gzip, chunked"))
  })

  it("reads Connection tokens case-insensitively across lines", () => {
    assert.deepStrictEqual([...(connectionTokens(["Close, X-A", " x-b ,,"]) ?? [])], ["close", "x-a", "x-b"])
    assert.isUndefined(connectionTokens(undefined))
  })

  it("writes IPv4-mapped addresses plainly and finds the first forwarded hop", () => {
    assert.strictEqual(plainAddress("::ffff:192.0.2.7"), "192.0.2.7")
    assert.strictEqual(plainAddress("2001:db8::1"), "2001:db8::1")
    assert.strictEqual(firstForwardedFor(" 203.0.113.5 , 10.0.0.1"), "203.0.113.5")
    assert.isUndefined(firstForwardedFor(""))
  })
})
