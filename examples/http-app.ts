/**
 * An Effect HTTP app (effect's `HttpRouter` on `@effect/platform-node`'s `NodeHttpServer`) with
 * a route of its own, `GET /hello`, and Switchyard's router mounted under `/api`: requests there
 * are balanced over the backends given as arguments, paths unchanged.
 *
 *   node examples/http-app.ts http://127.0.0.1:9001 http://127.0.0.1:9002
 *
 * In a program of your own, import from "switchyard" instead of "../src/index.ts".
 */
import { NodeHttpServer, NodeHttpServerRequest, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { createServer } from "node:http"
import { ProxyConfigLive, ProxyCoreLive, Router } from "../src/index.ts"

/**
 * Switchyard's router answers on the Node response itself (it streams both bodies); the Effect
 * handler resumes once that response is closed, and Effect's server then writes nothing more.
 */
const proxied = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(Router, (router) =>
    Effect.callback<HttpServerResponse.HttpServerResponse>((resume) => {
      const response = NodeHttpServerRequest.toServerResponse(request)
      response.once("close", () => resume(Effect.succeed(HttpServerResponse.empty())))
      router.handle(NodeHttpServerRequest.toIncomingMessage(request), response)
    }))

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello from the host app")),
  HttpRouter.add("*", "/api/*", proxied)
)

const Announce = Layer.effectDiscard(Effect.gen(function*() {
  const { address } = yield* HttpServer.HttpServer
  if (address._tag === "InetAddressV4") console.log(`listening on http://127.0.0.1:${address.port}`)
}))

const App = HttpRouter.serve(Routes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.merge(Announce),
  Layer.provide(ProxyCoreLive),
  Layer.provide(ProxyConfigLive.fromObject({
    logging: { level: "warn", access: false },
    backends: process.argv.slice(2).map((url) => ({ url }))
  })),
  Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 0) }))
)

NodeRuntime.runMain(Layer.launch(App))
