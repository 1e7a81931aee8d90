/**
 * The pure half of serving HTTP/1.2 as HTTP/1.1: reading the version off a request line Node's
 * parser refused, and rewriting it. Properties over request lines of any method, target and
 * version, and over what follows them in the chunk.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { asHttp11, refusedVersion, servedAsHttp11 } from "../../src/http/VersionRescue.ts"

const tchar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split("")
)
const method = fc.string({ unit: tchar, minLength: 1, maxLength: 12 })
const target = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 40
})
const digit = fc.integer({ min: 0, max: 9 })
/** Whatever may follow a request line: header lines, a body, the next request. */
const rest = fc.string({ maxLength: 80 })
/** Requests already in the chunk before the refused one (pipelined). */
const before = fc.array(
  fc.tuple(method, target).map(([m, t]) => `${m} ${t} HTTP/1.1\r\nHost: h\r\n\r\n`),
  { maxLength: 3 }
).map((requests) => requests.join(""))

const latin1 = (text: string) => Buffer.from(text, "latin1")

describe("serving higher HTTP/1 minor versions", () => {
  it("reads the version of any well-formed request line, where the parser stopped, wherever it starts", () => {
    fc.assert(fc.property(before, method, target, digit, digit, rest, (prefix, m, t, major, minor, tail) => {
      const line = `${m} ${t} HTTP/${major}.${minor}`
      const chunk = latin1(`${prefix}${line}\r\n${tail}`)
      assert.deepStrictEqual(refusedVersion(chunk, prefix.length + line.length), {
        major,
        minor,
        lineStart: prefix.length,
        minorAt: prefix.length + line.length - 1
      })
    }))
  })

  it("reads nothing when the parser stopped anywhere but at the end of a request line", () => {
    const noCr = rest.filter((tail) => !tail.includes("\r"))
    fc.assert(fc.property(method, target, digit, digit, noCr, fc.nat(200), (m, t, major, minor, tail, offset) => {
      const line = `${m} ${t} HTTP/${major}.${minor}`
      fc.pre(offset !== line.length)
      assert.isUndefined(refusedVersion(latin1(`${line}\r\n${tail}`), offset))
    }))
  })

  it("reads nothing from versions that are not one digit each side of the dot, or lines with a space too many", () => {
    for (
      const line of [
        "GET / HTTP/1.10",
        "GET / HTTP/10.1",
        "GET / HTTP/1.",
        "GET / HTTP/1.2 ",
        "GET  / HTTP/1.2",
        "GET / x HTTP/1.2",
        " GET / HTTP/1.2"
      ]
    ) {
      assert.isUndefined(refusedVersion(latin1(`${line}\r\nHost: h\r\n\r\n`), line.length), line)
    }
    assert.isUndefined(refusedVersion(latin1("GET / HTTP/1.2\nHost: h\n\n"), 14))
  })

  it("rewrites the minor digit to 1 and not one other byte", () => {
    fc.assert(fc.property(method, target, digit, digit, rest, (m, t, major, minor, tail) => {
      const line = `${m} ${t} HTTP/${major}.${minor}`
      const chunk = latin1(`${line}\r\n${tail}`)
      const version = refusedVersion(chunk, line.length)
      assert.isDefined(version)
      if (version === undefined) return
      assert.strictEqual(asHttp11(chunk, version).toString("latin1"), `${m} ${t} HTTP/${major}.1\r\n${tail}`)
      assert.strictEqual(chunk.toString("latin1"), `${line}\r\n${tail}`)
    }))
  })

  it("serves as HTTP/1.1 exactly the HTTP/1 versions above 1.1", () => {
    fc.assert(fc.property(digit, digit, (major, minor) => {
      assert.strictEqual(servedAsHttp11({ major, minor, lineStart: 0, minorAt: 0 }), major === 1 && minor > 1)
    }))
  })
})
