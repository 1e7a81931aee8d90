/**
 * A strategy of the program's own, named in the config beside the built-in ones: `first-available`
 * sends every request to the first selectable backend in config order (active/passive failover).
 * `StrategiesLive` adds it to the table the config is validated against and the router builds
 * from; `switchyard check` and `serve` still know only the built-in names. Its laws are checked
 * in the test suite with `switchyard/testing`'s `checkStrategyLaws`.
 *
 *   node examples/custom-strategy.ts http://127.0.0.1:9001 http://127.0.0.1:9002
 *
 * In a program of your own, import from "switchyard" instead of "../src/index.ts".
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppLive, isSelectable, ProxyConfigLive, ProxyServer, StrategiesLive } from "../src/index.ts"
import type { Strategy } from "../src/index.ts"

export const FirstAvailable: Strategy = {
  name: "first-available",
  summary: "Every request to the first selectable backend in config order (active/passive failover)",
  // Nothing to precompute: the pick is a scan that stops at the first usable backend.
  build: () => ({
    pick: (pool, _facts, excluded) => {
      for (const backend of pool) if (isSelectable(backend, excluded)) return backend
      return undefined
    }
  })
}

const proxy = AppLive(ProxyConfigLive.fromObject({
  server: { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 0) },
  admin: { host: "127.0.0.1", port: 0 },
  logging: { level: "warn", access: false },
  strategy: "first-available",
  backends: process.argv.slice(2).map((url, index) => ({ name: `b${index}`, url }))
})).pipe(Layer.provide(StrategiesLive([FirstAvailable])))

const Announce = Layer.effectDiscard(
  Effect.map(ProxyServer, ({ address }) => console.log(`proxy listening on http://127.0.0.1:${address.port}`))
)

if (import.meta.main) NodeRuntime.runMain(Layer.launch(Announce.pipe(Layer.provide(proxy))))
