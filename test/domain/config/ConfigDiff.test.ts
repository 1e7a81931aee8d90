import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { initialState } from "../../../src/domain/BackendState.ts"
import { diffBackends, restartNeededFor } from "../../../src/domain/config/ConfigDiff.ts"
import { decodeConfig, poolsOf } from "../../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../../src/domain/config/ConfigLoader.ts"

const config = (value: Record<string, unknown>): Config => {
  const result = decodeConfig({ file: "t", value, env: {} })
  if (Result.isFailure(result)) return assert.fail(result.failure.message)
  return result.success
}

const membersOf = (c: Config) => poolsOf(c).flatMap((pool) => pool.backends.map((spec) => initialState(spec, pool.policy)))

describe("config diff", () => {
  const backends = [{ name: "a", url: "http://a:1" }, { name: "b", url: "http://b:1", weight: 2 }]
  const before = config({ backends })

  it("names what joins, changes and leaves, joins first and leaves last", () => {
    const after = config({
      backends: [{ name: "b", url: "http://b:1", weight: 5 }, { name: "c", url: "http://c:1" }]
    })
    const changes = diffBackends(membersOf(before), after, 7)
    assert.deepStrictEqual([changes.added, changes.updated, changes.removed], [["c"], ["b"], ["a"]])
    assert.deepStrictEqual(changes.events.map((e) => `${e._tag}:${e._tag === "BackendAdded" ? e.spec.name : e.backend}`), [
      "BackendAdded:b",
      "BackendAdded:c",
      "BackendRemoved:a"
    ])
  })

  it("an unchanged config changes nothing; new health checks change every backend's policy", () => {
    assert.deepStrictEqual(diffBackends(membersOf(before), before, 0).events, [])
    const probed = config({ backends, healthCheck: { path: "/ready" } })
    assert.deepStrictEqual(diffBackends(membersOf(before), probed, 0).updated, ["a", "b"])
  })

  it("lists the changed settings only a restart applies", () => {
    const after = config({ backends, timeouts: { request: "5s" }, server: { port: 9999 }, strategy: "weighted-round-robin" })
    assert.deepStrictEqual(restartNeededFor(before, after), ["server", "timeouts"])
  })
})
