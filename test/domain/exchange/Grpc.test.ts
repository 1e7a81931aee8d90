/** gRPC's deadline header, the statuses the proxy answers with, and what a call's status stands for. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import {
  encodeGrpcMessage,
  grpcCodes,
  grpcStatusOfAnswer,
  grpcTimeoutMs,
  httpStatusOfGrpc
} from "../../../src/domain/exchange/Grpc.ts"

describe("gRPC rules", () => {
  it("grpc-timeout: up to 8 digits and a unit; anything else is no deadline", () => {
    assert.strictEqual(grpcTimeoutMs("100m"), 100)
    assert.strictEqual(grpcTimeoutMs("5S"), 5_000)
    assert.strictEqual(grpcTimeoutMs("2M"), 120_000)
    assert.strictEqual(grpcTimeoutMs("1H"), 3_600_000)
    assert.strictEqual(grpcTimeoutMs("2500u"), 2.5)
    assert.strictEqual(grpcTimeoutMs("99999999n"), 99.999_999)
    for (const bad of [undefined, "", "5", "5s", "123456789m", "-1S", "1.5S", " 5S"]) {
      assert.isUndefined(grpcTimeoutMs(bad), String(bad))
    }
  })

  it("property: a well-formed grpc-timeout is its digits times its unit", () =>
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 99_999_999 }),
      fc.constantFrom(["H", 3_600_000], ["M", 60_000], ["S", 1_000], ["m", 1]),
      (amount, [unit, ms]) => grpcTimeoutMs(`${amount}${unit}`) === amount * ms
    )))

  it("the proxy's own answers become the gRPC statuses a client can act on", () => {
    assert.strictEqual(grpcStatusOfAnswer(503), grpcCodes.unavailable)
    assert.strictEqual(grpcStatusOfAnswer(502), grpcCodes.unavailable)
    assert.strictEqual(grpcStatusOfAnswer(504), grpcCodes.deadlineExceeded)
    assert.strictEqual(grpcStatusOfAnswer(429), grpcCodes.resourceExhausted)
    assert.strictEqual(grpcStatusOfAnswer(413), grpcCodes.resourceExhausted)
    assert.strictEqual(grpcStatusOfAnswer(400), grpcCodes.internal)
  })

  it("a call's gRPC status stands for an HTTP status (Envoy's table); none, or nonsense, is 500", () => {
    assert.strictEqual(httpStatusOfGrpc("0"), 200)
    assert.strictEqual(httpStatusOfGrpc("14"), 503)
    assert.strictEqual(httpStatusOfGrpc("4"), 504)
    assert.strictEqual(httpStatusOfGrpc("8"), 429)
    assert.strictEqual(httpStatusOfGrpc("5"), 404)
    assert.strictEqual(httpStatusOfGrpc("16"), 401)
    for (const bad of [undefined, "", "17", "99", "abc", "-1"]) assert.strictEqual(httpStatusOfGrpc(bad), 500)
  })

  it("property: grpc-message is printable ASCII without a bare %, and decodes back", () =>
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (message) => {
      const encoded = encodeGrpcMessage(message)
      return /^[\x20-\x7e]*$/.test(encoded) && decodeURIComponent(encoded) === message
    })))
})
