/**
 * `switchyard demo` (`npm start`): three in-process backends with different latencies, the proxy
 * on :8080 and the admin listener on :9090 (`LB_PORT` / `LB_ADMIN_PORT` move them), then the URLs.
 */
import { Console, Effect, Layer } from "effect"
import { AppLive } from "../layers/AppLive.ts"
import { ProxyConfigLive } from "../layers/ProxyConfigLive.ts"
import { AdminServer } from "../services/AdminServer.ts"
import { ProxyServer } from "../services/ProxyServer.ts"
import { startDemoBackends } from "./DemoBackends.ts"

export const demo = Effect.gen(function*() {
  const backends = yield* startDemoBackends
  const config = ProxyConfigLive.fromObject({
    server: { host: "127.0.0.1", port: 8080 },
    admin: { host: "127.0.0.1", port: 9090 },
    backends: backends.map(({ name, url }) => ({ name, url })),
    logging: { format: "pretty" }
  }, { name: "demo", env: process.env })
  const app = yield* Layer.build(AppLive(config))
  const proxy = yield* ProxyServer.pipe(Effect.provide(app))
  const admin = yield* AdminServer.pipe(Effect.provide(app))
  yield* Console.log([
    "",
    "Switchyard demo",
    `  proxy     http://${proxy.address.host}:${proxy.address.port}/   (try: curl -s localhost:${proxy.address.port}/hello)`,
    `  dashboard http://${admin.address.host}:${admin.address.port}/   (open it in a browser)`,
    `  status    http://${admin.address.host}:${admin.address.port}/status`,
    `  health    http://${admin.address.host}:${admin.address.port}/health`,
    ...backends.map((b) => `  backend   ${b.name.padEnd(12)} ${b.url}  (${b.latencyMs} ms)`),
    "Ctrl-C stops it.",
    ""
  ].join("\n"))
  return yield* Effect.never
}).pipe(Effect.scoped)
