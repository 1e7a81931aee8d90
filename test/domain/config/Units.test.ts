import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import fc from "fast-check"
import { formatByteSize, formatDuration, parseByteSize, parseDuration } from "../../../src/domain/config/Units.ts"

describe("units", () => {
  it("reads the short duration forms", () => {
    assert.deepStrictEqual(
      ["250ms", "5s", "1.5m", "2h", "0s"].map((text) => Duration.toMillis(parseDuration(text) ?? Duration.infinity)),
      [250, 5_000, 90_000, 7_200_000, 0]
    )
    for (const bad of ["5", "5 seconds", "s", "-1s", "5sec", "1d", ""]) assert.isUndefined(parseDuration(bad), bad)
  })

  it("property: a formatted duration reads back as the same duration", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100 * 3_600_000 }), (ms) => {
      const text = formatDuration(Duration.millis(ms))
      assert.strictEqual(Duration.toMillis(parseDuration(text) ?? Duration.infinity), ms)
    }))
  })

  it("reads sizes in Effect's ByteSize syntax", () => {
    assert.deepStrictEqual(
      ["512KiB", "10MiB", "1GB", "1 kB", "7B"].map(parseByteSize),
      [524_288, 10_485_760, 1_000_000_000, 1_000, 7]
    )
    for (const bad of ["10 parsecs", "KB", "-1KiB", "1.5B"]) assert.isUndefined(parseByteSize(bad), bad)
  })

  it("property: a formatted size reads back as the same number of bytes", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (bytes) => {
      assert.strictEqual(parseByteSize(formatByteSize(bytes)), bytes)
    }))
  })
})
