import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { initialState } from "../../../src/domain/BackendState.ts"
import { addBackend, drainEvents, removeBackend, updateBackend } from "../../../src/domain/config/BackendEdits.ts"
import type { BackendChange } from "../../../src/domain/config/BackendEdits.ts"
import { decodeConfig, poolsOf } from "../../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../../src/domain/config/ConfigLoader.ts"

const config = (value: Record<string, unknown>): Config => {
  const result = decodeConfig({ file: "t", value, env: {} })
  if (Result.isFailure(result)) return assert.fail(result.failure.message)
  return result.success
}

const inForce = config({
  healthCheck: { path: "/ready" },
  backends: [{ name: "a", url: "http://a:1" }, { name: "b", url: "http://b:1", weight: 2 }],
  pools: {
    grpc: { protocol: "h2c", backends: [{ name: "g1", url: "http://g:1" }, { name: "g2", url: "http://g:2" }] }
  }
})

const changed = <E>(result: Result.Result<BackendChange, E>): BackendChange =>
  Result.isSuccess(result) ? result.success : assert.fail(`refused: ${JSON.stringify(result.failure)}`)

/** The refusal's tag, and its problems as `path: message` when it has some. */
const refusal = <E extends { readonly _tag: string }>(result: Result.Result<BackendChange, E>) => {
  if (Result.isSuccess(result)) return assert.fail("the change was applied")
  const error: { readonly _tag: string; readonly problems?: ReadonlyArray<{ path: string; message: string }> } =
    result.failure
  return { tag: error._tag, problems: (error.problems ?? []).map(({ message, path }) => `${path}: ${message}`) }
}

const names = (c: Config) => poolsOf(c).map((pool) => `${pool.name}: ${pool.backends.map((s) => s.name).join(" ")}`)

describe("backends API: adding", () => {
  it("a backend joins the end of the default pool, named by its host, with the pool's policy", () => {
    const change = changed(addBackend(inForce, { url: "http://c:1" }, 7))
    assert.strictEqual(change.name, "c:1")
    assert.deepStrictEqual(names(change.next), ["default: a b c:1", "grpc: g1 g2"])
    assert.deepStrictEqual(change.events, [{
      _tag: "BackendAdded",
      at: 7,
      spec: { name: "c:1", url: "http://c:1", weight: 1 },
      policy: poolsOf(inForce)[0]?.policy ?? assert.fail("no default pool")
    }])
    assert.strictEqual(change.events[0]?._tag === "BackendAdded" && change.events[0].policy.probe?.path, "/ready")
  })

  it("a backend joins a named pool and speaks its protocol", () => {
    const change = changed(addBackend(inForce, { url: "http://g:3", name: "g3", weight: 3, pool: "grpc" }, 1))
    assert.deepStrictEqual(names(change.next), ["default: a b", "grpc: g1 g2 g3"])
    const event = change.events[0]
    assert.deepStrictEqual(event?._tag === "BackendAdded" ? event.spec : undefined, {
      name: "g3",
      url: "http://g:3",
      weight: 3,
      protocol: "h2c",
      pool: "grpc"
    })
  })

  it("a bad body is refused with every problem, at the body's own paths", () => {
    const { problems, tag } = refusal(
      addBackend(inForce, { url: "ftp://c", weight: 0, maxConnections: 1.5, colour: "red" }, 1)
    )
    assert.strictEqual(tag, "InvalidBackendChange")
    assert.match(problems[0] ?? "", /^colour: Unknown key; expected one of: url, name, weight, .*pool$/)
    assert.deepStrictEqual(problems.slice(1), [
      `url: Expected an http or https URL, got "ftp:"`,
      "weight: Expected a value greater than or equal to 1, got 0",
      "maxConnections: Expected an integer, got 1.5"
    ])
    assert.deepStrictEqual(refusal(addBackend(inForce, [], 1)).problems, [": Expected object, got []"])
  })

  it("the file's rules between fields hold: unique names, known pools, a protocol that fits the URL", () => {
    assert.deepStrictEqual(
      refusal(addBackend(inForce, { url: "http://x:1", name: "g1", pool: "static" }, 1)).problems,
      [
        `pool: Unknown pool "static"; expected one of: default, grpc`,
        `name: Duplicate backend name "g1" (in pool grpc)`
      ]
    )
    const withC = changed(addBackend(inForce, { url: "http://c:1" }, 1)).next
    assert.deepStrictEqual(refusal(addBackend(withC, { url: "http://c:1", pool: "grpc" }, 1)).problems, [
      "url: Duplicate backend name \"c:1\" (in pool default); give the backend a distinct `name`"
    ])
    assert.deepStrictEqual(
      refusal(addBackend(inForce, { url: "http://x:1", protocol: "h2" }, 1)).problems,
      ["protocol: h2 is HTTP/2 over TLS: expected https:// backend URLs (use h2c for http://)"]
    )
  })
})

describe("backends API: changing", () => {
  it("a new weight replaces the spec; the rest of the backend stays", () => {
    const change = changed(updateBackend(inForce, "b", { weight: 5, maxConnections: 10 }, 3))
    const event = change.events[0]
    assert.deepStrictEqual(event?._tag === "BackendAdded" ? event.spec : undefined, {
      name: "b",
      url: "http://b:1",
      weight: 5,
      maxConnections: 10
    })
    assert.deepStrictEqual(names(change.next), names(inForce))
    assert.strictEqual(change.next.backends[1]?.weight, 5)
  })

  it("an unknown key and a bad value are both reported; only weight and maxConnections change", () => {
    assert.deepStrictEqual(refusal(updateBackend(inForce, "a", { url: "http://z:1", weight: 0 }, 1)), {
      tag: "InvalidBackendChange",
      problems: [
        "url: Unknown key; expected one of: weight, maxConnections",
        "weight: Expected a value greater than or equal to 1, got 0"
      ]
    })
    assert.deepStrictEqual(refusal(updateBackend(inForce, "a", {}, 1)).problems, [
      ": Expected at least one of: weight, maxConnections"
    ])
  })

  it("a name no configured backend has is unknown", () => {
    assert.deepStrictEqual(refusal(updateBackend(inForce, "zz", { weight: 2 }, 1)), {
      tag: "UnknownBackend",
      problems: []
    })
  })
})

describe("backends API: removing and draining", () => {
  it("a backend leaves its pool with BackendRemoved", () => {
    const change = changed(removeBackend(inForce, "g1", 4))
    assert.deepStrictEqual(names(change.next), ["default: a b", "grpc: g2"])
    assert.deepStrictEqual(change.events, [{ _tag: "BackendRemoved", at: 4, backend: "g1" }])
  })

  it("a discovery: dns source is a backend of the file, not a member: it is edited and removed without member events", () => {
    const withSource = config({
      backends: [{ name: "api", url: "http://api.internal:9000", discovery: "dns" }, { name: "a", url: "http://a:1" }]
    })
    const patched = changed(updateBackend(withSource, "a", { weight: 4 }, 1))
    assert.deepStrictEqual(patched.next.backends.map((backend) => [backend.name, backend.weight]), [["api", 1], [
      "a",
      4
    ]])
    const removed = changed(removeBackend(withSource, "api", 2))
    assert.deepStrictEqual([names(removed.next), removed.events], [["default: a"], []])
    assert.deepStrictEqual(refusal(addBackend(withSource, { url: "http://x:1", name: "api" }, 1)).problems, [
      `name: Duplicate backend name "api" (in pool default)`
    ])
  })

  it("a pool's last backend stays, and an unknown one is unknown", () => {
    const single = changed(removeBackend(inForce, "a", 1)).next
    assert.deepStrictEqual(refusal(removeBackend(single, "b", 1)).tag, "BackendChangeRefused")
    assert.deepStrictEqual(refusal(removeBackend(inForce, "zz", 1)).tag, "UnknownBackend")
  })

  it("drain and undrain are one event each, none when the backend is already there", () => {
    const state = initialState(
      { name: "a", url: "http://a:1", weight: 1 },
      poolsOf(inForce)[0]?.policy ?? assert.fail()
    )
    assert.deepStrictEqual(
      drainEvents(state, "a", true, 5),
      Result.succeed([{ _tag: "BackendDrained", at: 5, backend: "a" }])
    )
    assert.deepStrictEqual(drainEvents(state, "a", false, 5), Result.succeed([]))
    const drained = { ...state, draining: true }
    assert.deepStrictEqual(drainEvents(drained, "a", true, 5), Result.succeed([]))
    assert.deepStrictEqual(
      drainEvents(drained, "a", false, 6),
      Result.succeed([{ _tag: "BackendUndrained", at: 6, backend: "a" }])
    )
    assert.isTrue(Result.isFailure(drainEvents(undefined, "a", true, 5)))
    assert.isTrue(Result.isFailure(drainEvents({ ...state, removed: true }, "a", true, 5)))
  })
})
