/**
 * Host and path routing to named pools through the real proxy: each pool with its own backends,
 * strategy and health checks; unmatched requests to the default pool.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const answeredBy = (text: string): unknown => JSON.parse(text)["backend"]

describe("routing", () => {
  it.live("sends each request to its route's pool, the longest prefix first, unmatched to the default", () =>
    Effect.gen(function*() {
      const site = yield* startBackend("site")
      const api = yield* startBackend("api")
      const apiV2 = yield* startBackend("api-v2")
      const assets = yield* Effect.forEach(["assets-1", "assets-2"], (name) => startBackend(name))
      const proxy = yield* startProxy({
        backends: [{ name: "site", url: site.url }],
        pools: {
          api: { backends: [{ name: "api", url: api.url }] },
          "api-v2": { backends: [{ name: "api-v2", url: apiV2.url }] },
          assets: { strategy: "round-robin", backends: assets.map((b) => ({ name: b.name, url: b.url })) }
        },
        routes: [
          { match: { pathPrefix: "/api" }, pool: "api" },
          { match: { pathPrefix: "/api/v2" }, pool: "api-v2" },
          { match: { host: "cdn.example.com", pathPrefix: "/" }, pool: "assets" }
        ]
      })
      const via = (path: string, host = "shop.example.com") =>
        send(proxy.url, { path, headers: { host } }).pipe(Effect.map((reply) => answeredBy(reply.text)))
      assert.strictEqual(yield* via("/index.html"), "site")
      assert.strictEqual(yield* via("/api/orders?page=2"), "api")
      assert.strictEqual(yield* via("/api/v2/orders"), "api-v2")
      assert.strictEqual(yield* via("/apiary"), "site", "prefixes match whole path segments")
      assert.deepStrictEqual(
        [yield* via("/app.css", "cdn.example.com"), yield* via("/app.js", "CDN.example.com:8080")],
        ["assets-1", "assets-2"]
      )
      assert.strictEqual(api.deliveries[0]?.url, "/api/orders?page=2", "the path is passed as it was")
      const status = JSON.parse((yield* send(proxy.adminUrl, { path: "/status" })).text)
      assert.deepStrictEqual(
        status.backends.list.map((b: { name: string; pool: string }) => `${b.pool}/${b.name}`),
        ["default/site", "api/api", "api-v2/api-v2", "assets/assets-1", "assets/assets-2"]
      )
    }))

  it.live("a pool's own health checks take its backends out; the default pool has none and keeps serving", () =>
    Effect.gen(function*() {
      const health = { code: 200 }
      const probed = yield* startBackend("probed", (request, response) => {
        request.resume()
        if (request.url === "/ready") response.writeHead(health.code)
        response.end(JSON.stringify({ backend: "probed" }))
      })
      const site = yield* startBackend("site")
      const proxy = yield* startProxy({
        backends: [{ name: "site", url: site.url }],
        pools: {
          jobs: {
            healthCheck: { path: "/ready", interval: "50ms", timeout: "40ms", unhealthyThreshold: 1 },
            backends: [{ name: "probed", url: probed.url }]
          }
        },
        routes: [{ match: { pathPrefix: "/jobs" }, pool: "jobs" }]
      })
      assert.strictEqual((yield* send(proxy.url, { path: "/jobs/1" })).status, 200)
      health.code = 503
      yield* waitUntil(() => proxy.registry.get("probed")?.healthy === false)
      const refused = yield* send(proxy.url, { path: "/jobs/2" })
      assert.strictEqual(refused.status, 503, "no eligible backend in the jobs pool")
      assert.strictEqual((yield* send(proxy.url, { path: "/" })).status, 200, "the default pool is unaffected")
      assert.isFalse(site.deliveries.some((d) => d.url === "/ready"), "the default pool is not probed")
    }))
})
