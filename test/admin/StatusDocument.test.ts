import { assert, describe, it } from "@effect/vitest"
import { statusDocument } from "../../src/admin/StatusDocument.ts"
import { initialState } from "../../src/domain/BackendState.ts"
import type { BackendState } from "../../src/domain/BackendState.ts"
import { policy } from "../domain/arbitraries.ts"

const backend = (name: string, pool?: string): BackendState =>
  initialState({ name, url: `http://${name}:1`, weight: 1, ...(pool === undefined ? {} : { pool }) }, policy)

const documentOf = (backends: ReadonlyArray<BackendState>) =>
  statusDocument({
    version: "0",
    uptimeSeconds: 1,
    strategy: "round-robin",
    pools: [{ name: "default", strategy: "round-robin" }, { name: "static", strategy: "random" }],
    routes: [{ match: { host: "cdn.example" }, pool: "static" }],
    backends,
    recent: new Map(),
    workers: [],
    now: 0
  })

describe("the status document's pools and routes", () => {
  it("a pool lists its members; a drained or unhealthy one is a member, not available; a removed one is neither", () => {
    const document = documentOf([
      backend("a"),
      { ...backend("b"), draining: true },
      { ...backend("c"), removed: true, inFlight: 1 },
      { ...backend("s1", "static"), healthy: false }
    ])
    assert.deepStrictEqual(document.pools, [
      { name: "default", strategy: "round-robin", backends: ["a", "b"], available: 1 },
      { name: "static", strategy: "random", backends: ["s1"], available: 0 }
    ])
  })

  it("a route says what it matches, null for what it does not look at", () => {
    assert.deepStrictEqual(documentOf([]).routes, [{ host: "cdn.example", pathPrefix: null, pool: "static" }])
  })

  it("a backend has no recent traffic before the trend buffer's second sample", () => {
    assert.deepStrictEqual(documentOf([backend("a")]).backends.list.map((row) => row.recent), [null])
  })
})
