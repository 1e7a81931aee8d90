/**
 * Switchyard embedded in a host Effect program, through the public library surface only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { AppLive, BackendRegistry, ProxyConfigLive, ProxyCoreLive, ProxyServer, Router } from "../../src/index.ts"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"

describe("as a library", () => {
  it.live("a host program runs the whole proxy as a layer, with its own backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("host-backend")
      const app = yield* Layer.build(AppLive(ProxyConfigLive.fromObject({
        server: { host: "127.0.0.1", port: 0 },
        admin: { host: "127.0.0.1", port: 0 },
        logging: { level: "error" },
        backends: [{ name: "mine", url: backend.url }]
      })))
      const { port } = Context.get(app, ProxyServer).address
      const reply = yield* send(`http://127.0.0.1:${port}`, { path: "/embedded" })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(backend.deliveries[0]?.url, "/embedded")
      assert.strictEqual(Context.get(app, BackendRegistry).get("mine")?.requests, 1)
    }))

  it.live("a host program mounts the router's handler under a path of its own server", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const core = yield* Layer.build(ProxyCoreLive.pipe(
        Layer.provide(ProxyConfigLive.fromObject({ logging: { level: "error" }, backends: [{ url: backend.url }] }))
      ))
      const router = Context.get(core, Router)
      const host = createServer((request, response) => {
        if (request.url?.startsWith("/api/") === true) router.handle(request, response)
        else response.end("served by the host")
      })
      const port = yield* Effect.acquireRelease(
        Effect.callback<number>((resume) => {
          host.listen(0, "127.0.0.1", () => {
            const address = host.address()
            resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
          })
        }),
        () => Effect.sync(() => host.close())
      )
      const own = yield* send(`http://127.0.0.1:${port}`, { path: "/home" })
      const proxied = yield* send(`http://127.0.0.1:${port}`, { path: "/api/users" })
      assert.strictEqual(own.text, "served by the host")
      assert.strictEqual(proxied.status, 200)
      assert.deepStrictEqual(backend.deliveries.map((d) => d.url), ["/api/users"])
    }))
})
