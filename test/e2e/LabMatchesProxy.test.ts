/**
 * One failure script, two drivers of the attempt rules (`domain/exchange/Attempt.ts`): the strategy
 * lab on simulated backends and a virtual clock, and the proxy on real sockets. A pool of backends,
 * each scripted to fail one way (refuse the connection, reset it after reading the request, shed
 * it with a 503 and `Retry-After`, never answer), visited in config order by round robin (each
 * retry skips the backends already tried), takes one request; both sides must tell the registry
 * the same attempts with the same outcomes, give the client the same status and replay as often.
 * Timings are not compared: the lab's are simulated.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, PubSub, Random, Result, Stream } from "effect"
import type { Scope } from "effect"
import { createServer as createNetServer } from "node:net"
import type { Socket } from "node:net"
import type { BackendEvent } from "../../src/domain/BackendEvent.ts"
import { loadScenario } from "../../src/domain/sim/ScenarioLoader.ts"
import { labSeeds, runLab, scenarioWorkload } from "../../src/lab/StrategyRun.ts"
import { labProxyLive } from "../../src/programs/Simulate.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"
import { closedPort, startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

/** How a backend of the script fails; it is also the backend's name. */
type Failure = "refuse" | "reset" | "overload" | "timeout"

type Method = "GET" | "POST"

/** What one request came to, as either side saw it. */
interface Observed {
  /** Its registry events in order: `start NAME #ATTEMPT`, `finish NAME OUTCOME [retry-after MS]`. */
  readonly attempts: ReadonlyArray<string>
  readonly status: number
  /** Sent once more to the same backend on a fresh connection, as the same attempt. */
  readonly replays: number
}

// Enough attempts to reach every backend; backoffs and the 503's honoured pause (capped at
// maxDelay) kept tiny, and a short response deadline, so the socket side takes milliseconds.
const retry = { attempts: 5, baseDelay: "1ms", maxDelay: "5ms", honorRetryAfter: true }
const timeouts = { request: "150ms" }

const body = "{\"order\":1}"

const line = (event: BackendEvent): ReadonlyArray<string> => {
  switch (event._tag) {
    case "RequestStarted":
      return [`start ${event.backend} #${event.attempt}`]
    case "RequestFinished":
      return [
        `finish ${event.backend} ${event.outcome}${
          event.retryAfterMs === undefined ? "" : ` retry-after ${event.retryAfterMs}ms`
        }`
      ]
    default:
      return []
  }
}

const started = (events: ReadonlyArray<BackendEvent>, backend: string): number =>
  events.filter((event) => event._tag === "RequestStarted" && event.backend === backend).length

// --- the lab ---

/** The script as simulated backends: the failure is certain, so one arrival meets each exactly. */
const simulated: Record<Failure, string> = {
  refuse: "{ name: refuse, latency: { fixed: 1ms }, changes: [{ at: 0s, down: true }] }",
  reset: "{ name: reset, latency: { fixed: 5ms }, resetPercent: 100 }",
  overload: "{ name: overload, latency: { fixed: 1ms }, overloadPercent: 100, retryAfter: 1s }",
  timeout: "{ name: timeout, latency: { fixed: 10s } }"
}

/** One request (a single fixed arrival at 0), all GETs or all POSTs, through the lab's proxy. */
const scenarioText = (script: ReadonlyArray<Failure>, method: Method): string => `
traffic: { duration: 1ms, rate: 1, arrivals: fixed, clients: 1, postPercent: ${method === "POST" ? 100 : 0} }
backends:
${script.map((failure) => `  - ${simulated[failure]}`).join("\n")}
proxy: ${JSON.stringify({ retry, timeouts })}
`

const throughLab = (script: ReadonlyArray<Failure>, method: Method) => {
  const loaded = loadScenario({ file: "script.yaml", text: scenarioText(script, method), env: {} })
  if (Result.isFailure(loaded)) return Effect.die(loaded.failure)
  const scenario = loaded.success
  const seed = 1
  // As `runStrategy` builds a run, with the registry read while the lab drives it.
  return Effect.gen(function*() {
    const registry = yield* BackendRegistry
    const subscription = yield* registry.subscribe({ requests: true })
    const run = yield* runLab(scenarioWorkload(scenario), seed)
    const events = yield* PubSub.takeAll(subscription)
    const samples = run.results.recorder.samples()
    assert.strictEqual(samples.count, 1, "the lab answered exactly one request")
    return {
      attempts: events.flatMap(line),
      status: samples.status[0] ?? 0,
      replays: run.results.replays
    } satisfies Observed
  }).pipe(
    Effect.scoped,
    Effect.provide(labProxyLive({ ...scenario.config, strategy: "round-robin" }, scenario.backends), { local: true }),
    Random.withSeed(labSeeds(seed).proxy)
  )
}

// --- real sockets ---

interface RealBackend {
  readonly url: string
  /** Requests that reached it (a replay is one more). */
  readonly received: () => number
}

/**
 * A backend that reads each request, head and body (`Content-Length`), then resets the connection
 * without a byte of answer: the request may well have been processed.
 */
const resettingBackend = Effect.acquireRelease(
  Effect.callback<{ readonly backend: RealBackend; readonly close: () => void }>((resume) => {
    let received = 0
    const sockets = new Set<Socket>()
    const server = createNetServer((socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      socket.on("error", () => undefined)
      let pending = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        const end = pending.indexOf("\r\n\r\n")
        if (end === -1) return
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(pending.subarray(0, end).toString("latin1"))?.[1]
        if (pending.length < end + 4 + Number(length ?? 0)) return
        received++
        socket.resetAndDestroy()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({
        backend: { url: `http://127.0.0.1:${port}`, received: () => received },
        close: () => {
          server.close()
          for (const socket of sockets) socket.destroy()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ backend }) => backend))

/** The script as real backends on loopback. */
const real = (failure: Failure): Effect.Effect<RealBackend, never, Scope.Scope> => {
  switch (failure) {
    case "refuse":
      return Effect.map(closedPort, (port) => ({ url: `http://127.0.0.1:${port}`, received: () => 0 }))
    case "reset":
      return resettingBackend
    case "overload":
      return Effect.map(
        startBackend("overload", (request, response) => {
          request.resume()
          request.on("end", () => {
            response.writeHead(503, { "retry-after": "1", "content-type": "text/plain" })
            response.end("busy")
          })
        }),
        (backend) => ({ url: backend.url, received: backend.arrivals })
      )
    case "timeout":
      // Reads the request and never answers.
      return Effect.map(
        startBackend("timeout", (request) => void request.resume()),
        (backend) => ({ url: backend.url, received: backend.arrivals })
      )
  }
}

const throughSockets = (script: ReadonlyArray<Failure>, method: Method) =>
  Effect.gen(function*() {
    const backends = yield* Effect.forEach(script, real)
    const proxy = yield* startProxy({
      strategy: "round-robin",
      retry,
      timeouts,
      backends: script.map((name, i) => ({ name, url: backends[i]?.url }))
    })
    const events: Array<BackendEvent> = []
    yield* Stream.fromSubscription(yield* proxy.registry.subscribe({ requests: true })).pipe(
      Stream.runForEach((event) => Effect.sync(() => events.push(event))),
      Effect.forkScoped
    )
    const reply = yield* send(
      proxy.url,
      method === "POST"
        ? {
          method,
          path: "/orders",
          body,
          headers: { "content-type": "application/json", "content-length": body.length }
        }
        : { method, path: "/orders/1" }
    )
    // The last attempt's RequestFinished may follow the response out.
    const count = (tag: BackendEvent["_tag"]) => events.filter((event) => event._tag === tag).length
    yield* waitUntil(() => count("RequestStarted") > 0 && count("RequestFinished") === count("RequestStarted"))
    const replays = script.reduce(
      (sum, name, i) => name === "refuse" ? sum : sum + (backends[i]?.received() ?? 0) - started(events, name),
      0
    )
    return { attempts: events.flatMap(line), status: reply.status, replays } satisfies Observed
  })

interface Case {
  readonly name: string
  readonly method: Method
  readonly script: ReadonlyArray<Failure>
  readonly expected: Observed
}

const cases: ReadonlyArray<Case> = [
  {
    name:
      "a GET: refused and retried, reset and replayed once on the same backend, then retried; timed out and retried; the 503 is relayed with its pause",
    method: "GET",
    script: ["refuse", "reset", "timeout", "overload"],
    expected: {
      attempts: [
        "start refuse #1",
        "finish refuse connect-failed",
        "start reset #2",
        "finish reset reset",
        "start timeout #3",
        "finish timeout timeout",
        "start overload #4",
        "finish overload overloaded retry-after 5ms"
      ],
      status: 503,
      replays: 1
    }
  },
  {
    name: "a GET: a 503 with Retry-After is the backend's answer, relayed and not retried, though attempts are left",
    method: "GET",
    script: ["refuse", "reset", "overload", "timeout"],
    expected: {
      attempts: [
        "start refuse #1",
        "finish refuse connect-failed",
        "start reset #2",
        "finish reset reset",
        "start overload #3",
        "finish overload overloaded retry-after 5ms"
      ],
      status: 503,
      replays: 1
    }
  },
  {
    name:
      "a POST with a body: retried after a refusal (nothing was sent), then a reset after its body is a 502, never sent again",
    method: "POST",
    script: ["refuse", "reset", "overload", "timeout"],
    expected: {
      attempts: ["start refuse #1", "finish refuse connect-failed", "start reset #2", "finish reset reset"],
      status: 502,
      replays: 0
    }
  },
  {
    name: "a POST with a body: retried after a refusal, then a backend that never answers is a 504, never sent again",
    method: "POST",
    script: ["refuse", "timeout", "reset", "overload"],
    expected: {
      attempts: ["start refuse #1", "finish refuse connect-failed", "start timeout #2", "finish timeout timeout"],
      status: 504,
      replays: 0
    }
  }
]

describe("the lab and the proxy follow the same attempt rules", () => {
  for (const { expected, method, name, script } of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        const lab = yield* throughLab(script, method)
        const sockets = yield* throughSockets(script, method)
        assert.deepStrictEqual(lab, sockets, "the lab and real sockets saw the same attempts")
        assert.deepStrictEqual(sockets, expected)
      }))
  }
})
