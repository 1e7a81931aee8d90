/**
 * The typed event stream in the host program: every circuit opening, closing and health change,
 * printed as it happens, read from `BackendRegistry.subscribe` (the same stream the journal,
 * metrics and `/events` read). A subscriber has its own bounded buffer: a slow one loses
 * history, never slows requests.
 *
 *   node examples/circuit-events.ts http://127.0.0.1:9001 http://127.0.0.1:9002
 *
 * In a program of your own, import from "switchyard" instead of "../src/index.ts".
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import { AppLive, BackendRegistry, ProxyConfigLive, ProxyServer } from "../src/index.ts"
import type { BackendEvent } from "../src/index.ts"

const describe = (event: BackendEvent): string | undefined => {
  switch (event._tag) {
    case "CircuitOpened":
      return `circuit opened: ${event.backend} (${event.reason}), trip ${event.trips}`
    case "CircuitHalfOpened":
      return `circuit half-open: ${event.backend}`
    case "CircuitClosed":
      return `circuit closed: ${event.backend}`
    case "HealthChanged":
      return `${event.healthy ? "healthy" : "unhealthy"}: ${event.backend} (${event.reason})`
    default:
      return undefined
  }
}

const PrintCircuits = Layer.effectDiscard(Effect.gen(function*() {
  const events = yield* (yield* BackendRegistry).subscribe()
  yield* Stream.fromSubscription(events).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => {
        const line = describe(event)
        if (line !== undefined) console.log(line)
      })
    ),
    Effect.forkScoped
  )
  const { address } = yield* ProxyServer
  console.log(`proxy listening on http://127.0.0.1:${address.port}`)
}))

const proxy = AppLive(ProxyConfigLive.fromObject({
  server: { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 0) },
  admin: { host: "127.0.0.1", port: 0 },
  logging: { level: "error", access: false },
  circuitBreaker: { failureThreshold: 2, resetTimeout: "30s" },
  backends: process.argv.slice(2).map((url, index) => ({ name: `b${index}`, url }))
}))

NodeRuntime.runMain(Layer.launch(PrintCircuits.pipe(Layer.provide(proxy))))
