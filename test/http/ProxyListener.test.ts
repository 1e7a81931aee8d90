/**
 * The listener itself, on real sockets: the drain sequence for shutdown (the grace period on the
 * TestClock, so it can be crossed exactly without waiting for it), and the connections it closes
 * on its own answer, counted on the server side, whatever the client does after that answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { request as httpRequest } from "node:http"
import type { Socket } from "node:net"
import type { ClientResponse } from "../../src/http/ClientMessage.ts"
import { clientErrorStatus, CLOSE_LINGER_MS, drain, listen, makeProxyListener } from "../../src/http/ProxyListener.ts"
import { refusedVersion } from "../../src/http/VersionRescue.ts"
import { rawClient, statusLines } from "../support/RawClient.ts"
import { waitUntil } from "../support/Wait.ts"

const options = {
  maxHeaderSize: 16_384,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  http2: false,
  h2c: false,
  http2MaxStreams: 100
}

/** A listener whose handler holds every response until the test answers it. */
const holdingListener = Effect.gen(function*() {
  const held: Array<ClientResponse> = []
  let arrived: () => void = () => undefined
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve
  })
  const listener = makeProxyListener(options, (request, response) => {
    request.resume()
    held.push(response)
    arrived()
  })
  const address = yield* listen(listener.server, "proxy", "127.0.0.1", 0)
  yield* Effect.addFinalizer(() => Effect.sync(() => listener.server.closeAllConnections()))
  return { listener, port: address.port, held, arrival: Effect.promise(() => arrival) }
})

/** A request's fate: its status, or the error that ended it. */
const request = (port: number) =>
  Effect.callback<string>((resume) => {
    const outgoing = httpRequest({ host: "127.0.0.1", port, path: "/", agent: false }, (response) => {
      response.resume()
      response.on("end", () => resume(Effect.succeed(`status ${response.statusCode}`)))
      response.on("error", (error) => resume(Effect.succeed(error.message)))
    })
    outgoing.on("error", (error) => resume(Effect.succeed(error.message)))
    outgoing.end()
  })

/**
 * A listener answering `ok` to every request at once (before its body is in), recording each
 * request's method and target and counting the TCP connections it has open.
 */
const countingListener = (headersTimeoutMs: number) =>
  Effect.gen(function*() {
    const requests: Array<string> = []
    const listener = makeProxyListener({ ...options, headersTimeoutMs }, (request, response) => {
      requests.push(`${request.method} ${request.url}`)
      response.end("ok")
    })
    let open = 0
    listener.server.on("connection", (socket: Socket) => {
      open++
      socket.once("close", () => open--)
    })
    const address = yield* listen(listener.server, "proxy", "127.0.0.1", 0)
    yield* Effect.addFinalizer(() => Effect.sync(() => listener.server.closeAllConnections()))
    return { port: address.port, open: () => open, requests }
  })

describe("proxy listener", () => {
  it.effect("drain waits for an in-flight request, then stops at once", () =>
    Effect.gen(function*() {
      const { arrival, held, listener, port } = yield* holdingListener
      const client = yield* Effect.forkChild(request(port))
      yield* arrival
      const draining = yield* Effect.forkChild(drain(listener, Duration.seconds(30)))
      yield* Effect.yieldNow.pipe(Effect.repeat({ until: () => !listener.server.listening }))
      assert.include(yield* request(port), "ECONNREFUSED")
      assert.isUndefined(draining.pollUnsafe())
      held[0]?.end("done")
      assert.strictEqual(yield* Fiber.join(client), "status 200")
      yield* Fiber.join(draining)
      assert.strictEqual(listener.active(), 0)
    }))

  it.effect("drain cuts off what is still running when the grace period ends, not before", () =>
    Effect.gen(function*() {
      const { arrival, listener, port } = yield* holdingListener
      const client = yield* Effect.forkChild(request(port))
      yield* arrival
      const draining = yield* Effect.forkChild(drain(listener, Duration.seconds(30)))
      yield* TestClock.adjust("29 seconds")
      assert.isUndefined(draining.pollUnsafe())
      assert.isUndefined(client.pollUnsafe())
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(draining)
      assert.strictEqual(yield* Fiber.join(client), "socket hang up")
    }))

  it("answers parser errors with the status they deserve", () => {
    assert.strictEqual(clientErrorStatus("HPE_HEADER_OVERFLOW"), 431)
    assert.strictEqual(clientErrorStatus("ERR_HTTP_REQUEST_TIMEOUT"), 408)
    assert.strictEqual(clientErrorStatus("HPE_INVALID_METHOD"), 400)
    assert.strictEqual(clientErrorStatus(undefined), 400)
    const line = Buffer.from("GET / HTTP/3.1\r\nHost: h\r\n\r\n")
    assert.strictEqual(clientErrorStatus("HPE_INVALID_VERSION", refusedVersion(line, 14)), 505)
    assert.strictEqual(
      clientErrorStatus("HPE_INVALID_VERSION", refusedVersion(Buffer.from("GET / HTTP/1.10\r\n"), 14)),
      400
    )
  })

  // Each client below gets its answer, then keeps writing a line every 100 ms and never reads.
  const refusals: ReadonlyArray<readonly [what: string, status: string, bytes: string]> = [
    ["a head that never ends", "408", "GET / HTTP/1.1\r\nHost: h\r\n"],
    ["a malformed request line", "400", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a head over maxHeaderSize", "431", `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"x".repeat(20_000)}\r\n\r\n`],
    ["a version not served", "505", "GET / HTTP/3.1\r\nHost: h\r\n\r\n"]
  ]
  it.live("a client answered by the listener is disconnected after the linger, though it keeps writing and never reads", () =>
    Effect.gen(function*() {
      const { open, port } = yield* countingListener(300)
      for (const [, , bytes] of refusals) {
        const client = yield* rawClient(port, { reads: false })
        client.write(bytes)
        client.drip("X-Drip: 1\r\n", 100)
      }
      yield* waitUntil(() => open() === refusals.length)
      const started = Date.now()
      // The 408 comes 300-600 ms in (Node checks every 300 ms here), then the linger.
      yield* waitUntil(() => open() === 0)
      assert.isBelow(Date.now() - started, 600 + CLOSE_LINGER_MS + 500)
    }))

  for (const [what, status, bytes] of refusals) {
    it.live(`${what}: ${status} once, then closed, however many more bytes fail to parse`, () =>
      Effect.gen(function*() {
        const { port } = yield* countingListener(300)
        const client = yield* rawClient(port)
        client.write(bytes)
        client.drip("X-Drip: 1\r\n", 50)
        yield* waitUntil(client.closed)
        assert.deepStrictEqual(statusLines(client.received()).map((line) => line.slice(9, 12)), [status])
      }))
  }

  it.live("a keep-alive connection stays open while it is used and closes once idle for timeouts.idle", () =>
    Effect.gen(function*() {
      const listener = makeProxyListener({ ...options, idleTimeoutMs: 400 }, (request, response) => {
        request.resume()
        response.end("ok")
      })
      const { port } = yield* listen(listener.server, "proxy", "127.0.0.1", 0)
      yield* Effect.addFinalizer(() => Effect.sync(() => listener.server.closeAllConnections()))
      const client = yield* rawClient(port)
      const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
      for (let i = 1; i <= 4; i++) {
        client.write(get)
        yield* waitUntil(() => statusLines(client.received()).length === i)
        // Each pause is shorter than the idle timeout, four of them longer.
        yield* Effect.sleep("250 millis")
      }
      assert.isFalse(client.closed(), "a connection in use is not idle")
      const lastAnswer = Date.now()
      yield* waitUntil(client.closed)
      // Node keeps an idle connection a second past its keep-alive timeout (`keepAliveTimeoutBuffer`).
      assert.isBelow(Date.now() - lastAnswer, 400 + 1_000 + 600)
      assert.deepStrictEqual(statusLines(client.received()).map((line) => line.slice(9, 12)), [
        "200",
        "200",
        "200",
        "200"
      ])
    }))

  it.live("bytes of a body are never read again as a request line on an HTTP/1.2 connection", () =>
    Effect.gen(function*() {
      const { port, requests } = yield* countingListener(10_000)
      const client = yield* rawClient(port)
      client.write("POST /p HTTP/1.2\r\nHost: h\r\nContent-Length: 4\r\n\r\n")
      yield* waitUntil(() => statusLines(client.received()).length === 1)
      // The body, "PROP", then a request whose line, read from the start of this chunk, is PROPPATCH.
      client.write("PROPPATCH /x HTTP/1.2\r\nHost: h\r\n\r\n")
      yield* waitUntil(() => statusLines(client.received()).length === 2)
      assert.deepStrictEqual(statusLines(client.received()), [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 505 HTTP Version Not Supported"
      ])
      assert.deepStrictEqual(requests, ["POST /p"])
      yield* waitUntil(client.closed)
    }))
})
