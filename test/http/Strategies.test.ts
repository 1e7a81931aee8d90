/**
 * The strategies through the real proxy, over real loopback sockets: the latency-aware ones find
 * the fast backend (also when first answers mislead, and when requests are sparse),
 * least-connections steers around one holding slow requests, and ip-hash keeps each client (a
 * distinct source address on 127/8) on one backend.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ServerResponse } from "node:http"
import { echoName, startBackend } from "../support/Backends.ts"
import type { Handler, TestBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const backendOf = (text: string): unknown => JSON.parse(text)["backend"]

const config = (strategy: string, backends: ReadonlyArray<TestBackend>) => ({
  strategy,
  backends: backends.map((b) => ({ name: b.name, url: b.url }))
})

/** Answers like `echoName`, 50 ms after the request has arrived. */
const slowly: Handler = (request, response, backend) => {
  request.resume()
  request.on("end", () =>
    setTimeout(() => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ backend: backend.name }))
    }, 50))
}

/**
 * First impressions that mislead: `backend`'s first answer after `firstMs`, every later one after
 * `thenMs` (0: at once).
 */
const firstThen = (firstMs: number, thenMs: number): Handler => {
  let answered = 0
  return (request, response, backend) => {
    request.resume()
    request.on("end", () => {
      const delay = answered++ === 0 ? firstMs : thenMs
      const answer = () => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(JSON.stringify({ backend: backend.name }))
      }
      if (delay === 0) answer()
      else setTimeout(answer, delay)
    })
  }
}

/** A backend that holds requests for `/hold` until `release` answers them; others at once. */
const holding = () => {
  const held: Array<ServerResponse> = []
  const handler: Handler = (request, response, backend) => {
    if (request.url !== "/hold") return echoName(request, response, backend)
    request.resume()
    held.push(response)
  }
  const release = () => {
    for (const response of held.splice(0)) response.end("released")
  }
  return { handler, release }
}

describe("strategies through the proxy", () => {
  for (const strategy of ["least-ewma", "least-dynamic-score", "p2c-ewma"]) {
    it.live(`${strategy} sends at least 80 % of traffic to the fast backend over one 50 ms slower`, () =>
      Effect.gen(function*() {
        const slow = yield* startBackend("slow", slowly)
        const fast = yield* startBackend("fast")
        const proxy = yield* startProxy(config(strategy, [slow, fast]))
        // Warm-up: a pair at once, so that each backend is measured (the one that takes the first
        // request is busy or unmeasured-but-tried when the second is placed).
        yield* Effect.forEach([0, 1], () => send(proxy.url), { concurrency: 2 })
        assert.deepStrictEqual([slow.deliveries.length, fast.deliveries.length], [1, 1], "each backend warmed once")
        const answers = yield* Effect.forEach(
          Array.from({ length: 60 }, (_, i) => i),
          (i) => send(proxy.url, { path: `/n/${i}` }).pipe(Effect.map((reply) => backendOf(reply.text))),
          { concurrency: 4 }
        )
        const toFast = answers.filter((name) => name === "fast").length
        assert.isAtLeast(toFast, 48, `${toFast} of 60 went to the fast backend`)
      }))
  }

  for (const strategy of ["least-ewma", "least-dynamic-score", "p2c-ewma"]) {
    it.live(`${strategy}, one request at a time, finds the fast backend though the slow one answered its first at once`, () =>
      Effect.gen(function*() {
        // slow answers its first request at once and then takes 50 ms; fast takes 10 ms for its first
        // (a cold start) and then answers at once. Measured by first answers alone, slow looks faster.
        const slow = yield* startBackend("slow", firstThen(0, 50))
        const fast = yield* startBackend("fast", firstThen(10, 0))
        const proxy = yield* startProxy(config(strategy, [slow, fast]))
        const answers: Array<unknown> = []
        for (let i = 0; i < 20; i++) answers.push(backendOf((yield* send(proxy.url, { path: `/n/${i}` })).text))
        const trail = answers.join(" ")
        assert.include(answers.slice(0, 4), "fast", trail)
        assert.isAtMost(slow.deliveries.length, 3, trail)
        assert.notInclude(answers.slice(4), "slow", trail)
      }))
  }

  for (const strategy of ["least-dynamic-score", "p2c-ewma"]) {
    it.live(`${strategy}, with pauses longer than the decay, still tries the backend it has not measured`, () =>
      Effect.gen(function*() {
        // Decay 20 ms, 40 ms between requests: slow's 50 ms reads 50·e⁻² ≈ 6.8 ms at the next pick,
        // under the 30 ms an unmeasured backend counts; that 30 ms, aged alike, is less still.
        const slow = yield* startBackend("slow", slowly)
        const fast = yield* startBackend("fast")
        const proxy = yield* startProxy({ ...config(strategy, [slow, fast]), ewma: { decay: "20ms" } })
        const answers: Array<unknown> = []
        for (let i = 0; i < 4; i++) {
          yield* Effect.sleep("40 millis")
          answers.push(backendOf((yield* send(proxy.url, { path: `/n/${i}` })).text))
        }
        assert.include(answers.slice(0, 2), "fast", answers.join(" "))
      }))
  }

  it.live("least-connections steers new requests away from a backend holding slow ones", () =>
    Effect.gen(function*() {
      const a = holding()
      const b = holding()
      const first = yield* startBackend("a", a.handler)
      const second = yield* startBackend("b", b.handler)
      const proxy = yield* startProxy(config("least-connections", [first, second]))
      const arrived = () => first.arrivals() + second.arrivals()
      // Six held requests, placed one at a time: each goes to the less loaded, so three each.
      for (let i = 1; i <= 6; i++) {
        yield* Effect.forkChild(send(proxy.url, { path: "/hold" }))
        yield* waitUntil(() => arrived() === i)
      }
      assert.deepStrictEqual([first.arrivals(), second.arrivals()], [3, 3])
      // b finishes its three; a still holds three.
      b.release()
      yield* waitUntil(() => proxy.registry.get("b")?.inFlight === 0)
      assert.strictEqual(proxy.registry.get("a")?.inFlight, 3)
      const answers: Array<unknown> = []
      for (let i = 0; i < 10; i++) answers.push(backendOf((yield* send(proxy.url, { path: `/n/${i}` })).text))
      assert.deepStrictEqual(answers, Array.from({ length: 10 }, () => "b"))
      a.release()
    }))

  it.live("ip-hash keeps each client on one backend and spreads clients over the pool", () =>
    Effect.gen(function*() {
      const backends = yield* Effect.forEach(["a", "b", "c"], (name) => startBackend(name))
      const proxy = yield* startProxy(config("ip-hash", backends))
      const clients = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`)
      const placed = new Map<string, string>()
      for (const round of [0, 1, 2, 3, 4]) {
        for (const localAddress of clients) {
          const name = String(backendOf((yield* send(proxy.url, { path: `/r/${round}`, localAddress })).text))
          const before = placed.get(localAddress)
          if (before === undefined) placed.set(localAddress, name)
          else assert.strictEqual(name, before, `${localAddress} moved from ${before} to ${name}`)
        }
      }
      assert.isAtLeast(new Set(placed.values()).size, 2, "eight clients all on one backend")
    }))
})
