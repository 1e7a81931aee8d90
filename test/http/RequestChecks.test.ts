import { assert, describe, it } from "@effect/vitest"
import { scanRequestHead } from "../../src/http/HeaderRules.ts"
import { checkRequest, isRejection, originForm } from "../../src/http/RequestChecks.ts"

const check = (target: string, raw: ReadonlyArray<string>, max = 100) => checkRequest(target, scanRequestHead(raw), max)

const statusOf = (target: string, raw: ReadonlyArray<string>) => {
  const result = check(target, raw)
  return isRejection(result) ? result.status : 200
}

describe("request checks", () => {
  it("accepts a well-formed request and reads its declared length", () => {
    assert.deepStrictEqual(check("/p?q", ["Host", "h", "Content-Length", "42"]), { path: "/p?q", contentLength: 42 })
    assert.deepStrictEqual(check("/", ["Host", "h", "Content-Length", "7", "content-length", "7"]), {
      path: "/",
      contentLength: 7
    })
  })

  it("refuses what Node's parser lets through", () => {
    assert.deepStrictEqual(check("/", ["Host", "a", "Host", "b"]), { status: 400, message: "more than one Host header" })
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "1", "Transfer-Encoding", "chunked"]), 400)
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "1", "Content-Length", "2"]), 400)
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "0x10"]), 400)
    assert.strictEqual(statusOf("*", ["Host", "h"]), 400)
  })

  it("refuses a declared body over the limit with 413", () => {
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "101"]), 413)
    assert.deepStrictEqual(check("/", ["Host", "h", "Content-Length", "100"]), { path: "/", contentLength: 100 })
  })

  it("reduces an absolute-form target to its path and query, bytes kept", () => {
    assert.strictEqual(originForm("http://example.com/a%2Fb//c?x=%20"), "/a%2Fb//c?x=%20")
    assert.strictEqual(originForm("HTTPS://example.com"), "/")
    assert.strictEqual(originForm("http://example.com?q=1"), "/?q=1")
    assert.isUndefined(originForm("example.com/x"))
  })
})
