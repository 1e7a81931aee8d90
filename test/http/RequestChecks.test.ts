import { assert, describe, it } from "@effect/vitest"
import { scanRequestHead } from "../../src/http/HeaderRules.ts"
import { checkRequest, isRejection } from "../../src/http/RequestChecks.ts"
import { isValidAuthority, parseTarget } from "../../src/http/RequestTarget.ts"

const check = (target: string, raw: ReadonlyArray<string>, max = 100) =>
  checkRequest(target, scanRequestHead(raw), max, 1)

const statusOf = (target: string, raw: ReadonlyArray<string>) => {
  const result = check(target, raw)
  return isRejection(result) ? result.status : 200
}

describe("request checks", () => {
  it("accepts a well-formed request and reads its declared length", () => {
    assert.deepStrictEqual(check("/p?q", ["Host", "h", "Content-Length", "42"]), {
      path: "/p?q",
      authority: "h",
      contentLength: 42
    })
    assert.deepStrictEqual(check("/", ["Host", "h", "Content-Length", "7", "content-length", "7"]), {
      path: "/",
      authority: "h",
      contentLength: 7
    })
  })

  it("refuses what Node's parser lets through", () => {
    assert.deepStrictEqual(check("/", ["Host", "a", "Host", "b"]), {
      status: 400,
      message: "more than one Host header"
    })
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "1", "Transfer-Encoding", "chunked"]), 400)
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "1", "Content-Length", "2"]), 400)
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "0x10"]), 400)
    assert.strictEqual(statusOf("*", ["Host", "h"]), 400)
  })

  it("refuses a declared body over the limit with 413", () => {
    assert.strictEqual(statusOf("/", ["Host", "h", "Content-Length", "101"]), 413)
    assert.deepStrictEqual(check("/", ["Host", "h", "Content-Length", "100"]), {
      path: "/",
      authority: "h",
      contentLength: 100
    })
  })

  it("reduces an absolute-form target to its path and query, bytes kept, and takes its authority", () => {
    assert.deepStrictEqual(parseTarget("http://example.com/a%2Fb//c?x=%20"), {
      path: "/a%2Fb//c?x=%20",
      authority: "example.com"
    })
    assert.deepStrictEqual(parseTarget("HTTPS://example.com"), { path: "/", authority: "example.com" })
    assert.deepStrictEqual(parseTarget("http://[::1]:8080?q=1"), { path: "/?q=1", authority: "[::1]:8080" })
    assert.strictEqual(parseTarget("example.com/x"), "form")
    assert.deepStrictEqual(check("http://other.example/x", ["Host", "127.0.0.1"]), {
      path: "/x",
      authority: "other.example",
      contentLength: undefined
    })
  })

  it("refuses userinfo, a fragment or a bad authority in the target", () => {
    assert.strictEqual(parseTarget("http://u:p@a.example/"), "userinfo")
    assert.strictEqual(parseTarget("http://a.example/x#frag"), "fragment")
    assert.strictEqual(parseTarget("/x#frag"), "fragment")
    assert.strictEqual(parseTarget("http:///x"), "authority")
    assert.strictEqual(parseTarget("http://a b/x"), "authority")
    for (const target of ["http://u@a/", "/x#f", "http://a,b/"]) {
      assert.strictEqual(statusOf(target, ["Host", "h"]), 400)
    }
  })

  it("accepts a Host that is host[:port] and refuses any other", () => {
    for (
      const valid of [
        "a",
        "a.example:8080",
        "127.0.0.1",
        "[::1]",
        "[2001:db8::1]:443",
        "xn--bcher-kva.example",
        "a%41b",
        "a:"
      ]
    ) {
      assert.isTrue(isValidAuthority(valid), valid)
    }
    for (
      const invalid of [
        "",
        "127.0.0.1 evil",
        "a, b",
        "a,b",
        "a:b",
        "a:123456",
        "[::1",
        "[::1]x",
        "a/b",
        "a\\b",
        "a@b",
        "%4"
      ]
    ) {
      assert.isFalse(isValidAuthority(invalid), invalid)
      assert.strictEqual(statusOf("/", ["Host", invalid]), 400, invalid)
    }
  })

  it("refuses any transfer coding but chunked alone with 501", () => {
    for (const coding of ["gzip, chunked", "chunked, chunked", "identity"]) {
      assert.deepStrictEqual(check("/", ["Host", "h", "Transfer-Encoding", coding]), {
        status: 501,
        message: "no transfer coding but chunked is supported"
      })
    }
    assert.strictEqual(
      statusOf("/", ["Host", "h", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"]),
      501
    )
    assert.strictEqual(statusOf("/", ["Host", "h", "Transfer-Encoding", "Chunked"]), 200)
  })
})
