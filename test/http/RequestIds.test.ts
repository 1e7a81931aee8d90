import { assert, describe, it } from "@effect/vitest"
import { nextRequestId } from "../../src/http/Reception.ts"

describe("generated request ids", () => {
  it("are UUID-shaped and never repeat", () => {
    const ids = Array.from({ length: 10_000 }, nextRequestId)
    assert.strictEqual(new Set(ids).size, ids.length)
    for (const id of ids.slice(0, 100)) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
  })
})
