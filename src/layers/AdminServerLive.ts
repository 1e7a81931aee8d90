/**
 * The admin listener: `effect/http` routes on their own `node:http` server (the proxy listener
 * stays plain `node:http` for speed; here convenience wins). Bound on `admin.host:admin.port`,
 * loopback by default because it is a control surface. A bind failure surfaces as the platform's
 * `ServeError`, which the CLI reports like the proxy's `ListenError`.
 */
// The module, not the package's barrel: the barrel also loads NodeRedis and its client (478 files,
// about 15 MiB of resident memory that a proxy without Redis never uses).
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { createServer } from "node:http"
import { AdminRoutes } from "../admin/AdminRoutes.ts"
import { BackendRoutes } from "../admin/BackendRoutes.ts"
import { AdminServer } from "../services/AdminServer.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const boundAddress = Layer.effect(
  AdminServer,
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const { admin } = yield* ProxyConfig
    const port = server.address._tag === "UnixPathAddress" ? admin.port : server.address.port
    yield* Effect.logInfo(`admin listening on http://${admin.host}:${port}`)
    return AdminServer.of({ address: { host: admin.host, port } })
  })
)

export const AdminServerLive = Layer.unwrap(Effect.gen(function*() {
  const { admin } = yield* ProxyConfig
  const server = NodeHttpServer.layer(createServer, { host: admin.host, port: admin.port })
  return Layer.merge(
    HttpRouter.serve(Layer.merge(AdminRoutes, BackendRoutes), { disableLogger: true, disableListenLog: true }),
    boundAddress
  ).pipe(Layer.provide(server))
}))
