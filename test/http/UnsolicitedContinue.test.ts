/**
 * An unsolicited `100 Continue` from a backend is swallowed and the final response delivered:
 * through the proxy against a raw backend that writes exactly the bytes given, and as a property
 * of the byte filter that hides the `100` from undici, for any way the bytes are cut into reads.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Scope } from "effect"
import fc from "fast-check"
import { createServer } from "node:net"
import type { Socket } from "node:net"
import { stripContinue } from "../../src/http/UnsolicitedContinue.ts"
import type { ContinueScan } from "../../src/http/UnsolicitedContinue.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

interface RawBackend {
  readonly url: string
  readonly connections: () => number
  readonly requests: () => number
}

/**
 * A backend on a bare socket: for each request head it receives (bodiless requests only), it
 * writes `answer`'s pieces in order, `gapMs` apart, each a write of its own.
 */
const rawBackend = (answer: ReadonlyArray<string>, gapMs = 20): Effect.Effect<RawBackend, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawBackend & { readonly close: () => void }>((resume) => {
      const sockets = new Set<Socket>()
      let connections = 0
      let requests = 0
      const server = createServer((socket) => {
        connections++
        sockets.add(socket)
        socket.setNoDelay(true)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => undefined)
        let pending = ""
        socket.on("data", (chunk: Buffer) => {
          pending += chunk.toString("latin1")
          let end = pending.indexOf("\r\n\r\n")
          while (end !== -1) {
            pending = pending.slice(end + 4)
            requests++
            answer.forEach((piece, i) => setTimeout(() => socket.write(piece, "latin1"), i * gapMs))
            end = pending.indexOf("\r\n\r\n")
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}`,
          connections: () => connections,
          requests: () => requests,
          close: () => {
            server.close()
            for (const socket of sockets) socket.destroy()
          }
        }))
      })
    }),
    (backend) => Effect.sync(backend.close)
  )

const ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

/** Two requests through the proxy: both get the 200 and its body, on one backend connection. */
const deliversTheFinalResponse = (answer: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const backend = yield* rawBackend(answer)
    const proxy = yield* startProxy({ backends: [{ url: backend.url }] })
    for (const path of ["/first", "/second"]) {
      const reply = yield* send(proxy.url, { path })
      assert.deepStrictEqual(
        [reply.status, reply.headers["content-type"], reply.text],
        [200, "text/plain", "hello"],
        path
      )
    }
    assert.deepStrictEqual([backend.connections(), backend.requests()], [1, 2], "the connection kept serving")
    assert.strictEqual(proxy.registry.pool()[0]?.failures, 0)
  })

describe("an unsolicited 100 Continue from a backend", () => {
  it.live("sent with the 200 in one write: the client gets the 200 and its body", () =>
    deliversTheFinalResponse([`HTTP/1.1 100 Continue\r\n\r\n${ok}`]))

  it.live("sent in a write of its own before the 200: the client gets the 200", () =>
    deliversTheFinalResponse(["HTTP/1.1 100 Continue\r\n\r\n", ok]))

  it.live("with headers of its own: swallowed with them", () =>
    deliversTheFinalResponse(["HTTP/1.1 100 Continue\r\nX-Note: keep going\r\nServer: odd\r\n\r\n", ok]))

  it.live("cut in two mid status line, then a second 100 without a reason: both swallowed", () =>
    deliversTheFinalResponse(["HTTP/1.1 10", "0 Continue\r\n\r\nHTTP/1.1 100\r\n\r\n", ok]))

  it.live("after a 103 Early Hints: swallowed, and the final response delivered", () =>
    deliversTheFinalResponse([
      `HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${ok}`
    ]))
})

/** What undici's reads see: `chunks` read one by one, each filtered while a response head is due. */
const readThrough = (chunks: ReadonlyArray<Buffer>): Buffer => {
  const scan: ContinueScan = { atHead: true, held: undefined }
  const seen: Array<Buffer> = []
  for (const chunk of chunks) {
    const passed = scan.atHead ? stripContinue(scan, chunk) : chunk
    if (passed !== null) seen.push(passed)
  }
  return Buffer.concat(seen)
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/)
const fieldValue = fc.stringMatching(/^[ -~]{0,20}$/).map((value) => value.trim())
const headerLines = fc.array(fc.tuple(token, fieldValue), { maxLength: 4 }).map((fields) =>
  fields.map(([name, value]) => `${name}: ${value}\r\n`).join("")
)
const minor = fc.constantFrom("0", "1")
const continueHead = fc.tuple(minor, fc.constantFrom(" Continue", "", " "), headerLines).map(([v, reason, fields]) =>
  `HTTP/1.${v} 100${reason}\r\n${fields}\r\n`
)
const otherInterimHead = fc.tuple(fc.constantFrom("102 Processing", "103 Early Hints"), headerLines).map((
  [status, fields]
) => `HTTP/1.1 ${status}\r\n${fields}\r\n`)
const interimHead = fc.oneof(
  continueHead.map((text) => ({ text, cut: true })),
  otherInterimHead.map((text) => ({ text, cut: false }))
)
/** A final response whose body may itself look like a 100 head: it is body, never cut. */
const finalResponse = fc.tuple(
  fc.constantFrom("200 OK", "204 No Content", "404 Not Found", "500 Internal Server Error"),
  fc.oneof(fc.stringMatching(/^[ -~]{0,40}$/), fc.constant("HTTP/1.1 100 Continue\r\n\r\n"))
).map(([status, body]) => `HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\n\r\n${body}`)

/** `bytes` cut at the given points into the reads a socket might return. */
const cutInto = (bytes: Buffer, points: ReadonlyArray<number>): Array<Buffer> => {
  const cuts = [...new Set(points.map((point) => point % (bytes.length + 1)))].sort((a, b) => a - b)
  const edges = [0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length), bytes.length]
  return edges.slice(1).map((end, i) => bytes.subarray(edges[i] ?? 0, end))
}

describe("the 100 Continue filter", () => {
  it("property: whatever the reads, undici sees the response with exactly its 100 heads removed", () =>
    fc.assert(
      fc.property(
        fc.array(interimHead, { maxLength: 4 }),
        finalResponse,
        fc.array(fc.nat(), { maxLength: 8 }),
        (interims, final, points) => {
          const sent = Buffer.from(interims.map((h) => h.text).join("") + final, "latin1")
          const expected = interims.filter((h) => !h.cut).map((h) => h.text).join("") + final
          assert.strictEqual(readThrough(cutInto(sent, points)).toString("latin1"), expected)
        }
      )
    ))

  it("a response that starts with its final head passes as the very buffer read, and ends the watch", () => {
    const chunk = Buffer.from(ok, "latin1")
    const scan: ContinueScan = { atHead: true, held: undefined }
    assert.strictEqual(stripContinue(scan, chunk), chunk)
    assert.deepStrictEqual(scan, { atHead: false, held: undefined })
  })
})
