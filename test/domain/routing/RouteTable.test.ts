import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { buildRouteTable } from "../../../src/domain/routing/RouteTable.ts"
import type { Route } from "../../../src/domain/routing/RouteTable.ts"

const table = buildRouteTable([
  { host: undefined, pathPrefix: "/api", pool: "api" },
  { host: undefined, pathPrefix: "/api/v2/", pool: "api-v2" },
  { host: "static.example.com", pathPrefix: "/assets", pool: "static" },
  { host: "static.example.com", pathPrefix: undefined, pool: "static-site" },
  { host: "Admin.Example.com", pathPrefix: "/api", pool: "admin-api" }
], "default")

describe("route table", () => {
  it("the longest matching prefix wins; unmatched requests go to the default pool", () => {
    assert.strictEqual(table.lookup("shop.example.com", "/api/orders?x=1"), "api")
    assert.strictEqual(table.lookup("shop.example.com", "/api/v2/orders"), "api-v2")
    assert.strictEqual(table.lookup("shop.example.com", "/api/v2"), "api-v2")
    assert.strictEqual(table.lookup("shop.example.com", "/api"), "api")
    assert.strictEqual(table.lookup("shop.example.com", "/apis"), "default", "a prefix matches whole segments")
    assert.strictEqual(table.lookup("shop.example.com", "/"), "default")
    assert.strictEqual(table.lookup(undefined, "/api/x"), "api")
  })

  it("a route for the request's host beats one for any host; hosts ignore case and port", () => {
    assert.strictEqual(table.lookup("admin.example.com:8443", "/api/users"), "admin-api")
    assert.strictEqual(table.lookup("static.example.com", "/assets/app.css"), "static")
    assert.strictEqual(table.lookup("STATIC.example.com", "/index.html"), "static-site")
    assert.strictEqual(table.lookup("static.example.com", "/api/x"), "api", "a longer any-host prefix still wins")
  })

  it("without routes, everything goes to the default pool", () => {
    assert.strictEqual(buildRouteTable([], "default").lookup("x", "/anything"), "default")
  })

  it("property: the result is the pool of the longest route prefix containing the path", () => {
    const segment = fc.constantFrom("a", "b", "c")
    const prefix = fc.array(segment, { maxLength: 3 }).map((parts) => `/${parts.join("/")}`)
    fc.assert(fc.property(
      fc.array(fc.record({ pathPrefix: prefix, pool: fc.constantFrom("p1", "p2", "p3") }), { maxLength: 8 }),
      fc.array(segment, { maxLength: 4 }),
      (routes, parts) => {
        const withHost: Array<Route> = routes.map((r) => ({ ...r, host: undefined }))
        const path = `/${parts.join("/")}`
        const depth = (p: string) => p === "/" ? 0 : p.split("/").length - 1
        const matching = withHost.filter((r) => {
          const p = r.pathPrefix ?? "/"
          return p === "/" || path === p || path.startsWith(`${p}/`)
        })
        const longest = Math.max(-1, ...matching.map((r) => depth(r.pathPrefix ?? "/")))
        const expected = longest === -1
          ? "default"
          : matching.find((r) => depth(r.pathPrefix ?? "/") === longest)?.pool
        assert.strictEqual(buildRouteTable(withHost, "default").lookup(undefined, path), expected)
      }
    ))
  })
})
