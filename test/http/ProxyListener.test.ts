/**
 * The drain sequence for shutdown: real sockets, with the grace period on the TestClock so it
 * can be crossed exactly, without waiting for it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import type { ServerResponse } from "node:http"
import { request as httpRequest } from "node:http"
import { TestClock } from "effect/testing"
import { clientErrorStatus, drain, listen, makeProxyListener } from "../../src/http/ProxyListener.ts"

const options = { maxHeaderSize: 16_384, headersTimeoutMs: 10_000, idleTimeoutMs: 60_000 }

/** A listener whose handler holds every response until the test answers it. */
const holdingListener = Effect.gen(function*() {
  const held: Array<ServerResponse> = []
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
  })
})
