import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { initialState } from "../../../src/domain/BackendState.ts"
import { applyReload, describeReload, diffBackends, diffSettings } from "../../../src/domain/config/ConfigDiff.ts"
import { decodeConfig, poolsOf } from "../../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../../src/domain/config/ConfigLoader.ts"
import { memberPolicy, memberSpec } from "../../../src/domain/discovery/DnsMembers.ts"
import { strategyNames } from "../../../src/domain/selection/Strategies.ts"

const config = (value: Record<string, unknown>): Config => {
  const result = decodeConfig({ file: "t", value, env: {} })
  if (Result.isFailure(result)) return assert.fail(result.failure.message)
  return result.success
}

const membersOf = (c: Config) =>
  poolsOf(c).flatMap((pool) => pool.backends.map((spec) => initialState(spec, pool.policy)))

const backends = [{ name: "a", url: "http://a:1" }, { name: "b", url: "http://b:1", weight: 2 }]
const staticPool = { backends: [{ name: "s", url: "http://s:1" }] }

describe("config diff: backends", () => {
  const before = config({ backends })

  it("names what joins, changes and leaves, joins first and leaves last", () => {
    const after = config({
      backends: [{ name: "b", url: "http://b:1", weight: 5 }, { name: "c", url: "http://c:1" }]
    })
    const changes = diffBackends(membersOf(before), after, 7)
    assert.deepStrictEqual([changes.added, changes.updated, changes.removed], [["c"], ["b"], ["a"]])
    assert.deepStrictEqual(
      changes.events.map((e) => `${e._tag}:${e._tag === "BackendAdded" ? e.spec.name : e.backend}`),
      [
        "BackendAdded:b",
        "BackendAdded:c",
        "BackendRemoved:a"
      ]
    )
  })

  it("an unchanged config changes nothing; new health checks change every backend's policy", () => {
    assert.deepStrictEqual(diffBackends(membersOf(before), before, 0).events, [])
    const probed = config({ backends, healthCheck: { path: "/ready" } })
    assert.deepStrictEqual(diffBackends(membersOf(before), probed, 0).updated, ["a", "b"])
  })
})

describe("config diff: members found by DNS discovery", () => {
  const source = { name: "api", url: "http://api.internal:9000", discovery: "dns" }
  const discovered = (c: Config, addresses: ReadonlyArray<string>) =>
    poolsOf(c).flatMap((pool) =>
      pool.discovered.flatMap((spec) =>
        addresses.map((address) => initialState(memberSpec(spec, address), memberPolicy(pool.policy)))
      )
    )
  const running = config({ backends: [source] })
  const members = discovered(running, ["10.0.0.1", "10.0.0.2"])

  it("a reload of the same file keeps them, though the file names only the host", () => {
    assert.deepStrictEqual(diffBackends(members, running, 0).events, [])
  })

  it("a new weight or health check reaches every one of them, with probes before traffic", () => {
    const changes = diffBackends(members, config({ backends: [{ ...source, weight: 3 }], healthCheck: {} }), 0)
    assert.deepStrictEqual(changes.updated, ["api@10.0.0.1", "api@10.0.0.2"])
    assert.deepStrictEqual(
      changes.events.map((e) => e._tag === "BackendAdded" ? [e.spec.weight, e.policy.probeBeforeTraffic] : []),
      [[3, true], [3, true]]
    )
  })

  it("they leave with their source, or when it names another host; another port moves them", () => {
    const gone = diffBackends(members, config({ backends: [{ name: "b", url: "http://b:1" }] }), 0)
    assert.deepStrictEqual([gone.added, gone.removed], [["b"], ["api@10.0.0.1", "api@10.0.0.2"]])
    const moved = diffBackends(members, config({ backends: [{ ...source, url: "http://api2.internal:9000" }] }), 0)
    assert.deepStrictEqual([moved.added, moved.updated, moved.removed], [[], [], ["api@10.0.0.1", "api@10.0.0.2"]])
    const port = diffBackends(members, config({ backends: [{ ...source, url: "http://api.internal:9001" }] }), 0)
    assert.deepStrictEqual(
      port.events.map((e) => e._tag === "BackendAdded" ? e.spec.url : e._tag),
      ["http://10.0.0.1:9001/", "http://10.0.0.2:9001/"]
    )
  })
})

describe("config diff: settings", () => {
  it("a new strategy for the default pool and for a named pool is applied, with its old and new value", () => {
    const before = config({ backends, pools: { static: { ...staticPool, strategy: "least-connections" } } })
    const after = config({ backends, strategy: "ip-hash", pools: { static: { ...staticPool, strategy: "random" } } })
    assert.deepStrictEqual(diffSettings(before, after), {
      changed: [
        { setting: "strategy", from: "round-robin", to: "ip-hash" },
        { setting: "pools.static.strategy", from: "least-connections", to: "random" }
      ],
      restartNeeded: []
    })
  })

  it("routes, health checks, breaker settings and a new pool are applied; backend lists are left to the member diff", () => {
    const before = config({ backends })
    const route = { match: { pathPrefix: "/s" }, pool: "static" }
    const after = config({
      backends: [{ name: "c", url: "http://c:1" }],
      pools: { static: staticPool },
      routes: [route],
      healthCheck: { path: "/ready" },
      circuitBreaker: { failureThreshold: 2 }
    })
    assert.deepStrictEqual(diffSettings(before, after), {
      changed: [
        { setting: "circuitBreaker.failureThreshold", from: 5, to: 2 },
        {
          setting: "healthCheck",
          from: null,
          to: { path: "/ready", interval: "5s", timeout: "2s", healthyThreshold: 2, unhealthyThreshold: 3, grpc: false }
        },
        { setting: "routes", from: null, to: [route] },
        { setting: "pools", from: null, to: { static: { strategy: "round-robin" } } }
      ],
      restartNeeded: []
    })
  })

  it("settings only a restart applies are listed apart, in the file's syntax, and retry is split by what it feeds", () => {
    const before = config({ backends })
    const after = config({
      backends,
      server: { port: 9999 },
      timeouts: { request: "5s" },
      retry: { attempts: 1, honorRetryAfter: true },
      cache: { maxEntries: 10 },
      rateLimit: { requestsPerSecond: 5, burst: 10 }
    })
    assert.deepStrictEqual(diffSettings(before, after), {
      changed: [{ setting: "retry.honorRetryAfter", from: false, to: true }],
      restartNeeded: [
        { setting: "server.port", from: 8080, to: 9999 },
        { setting: "retry.attempts", from: 3, to: 1 },
        { setting: "timeouts.request", from: "30s", to: "5s" },
        { setting: "cache", from: null, to: { maxEntries: 10, maxBytes: "64MiB", ttl: "5m" } },
        { setting: "rateLimit", from: null, to: { requestsPerSecond: 5, burst: 10 } }
      ]
    })
  })

  it("a setting waiting for a restart keeps its running value and is reported again by every later reload", () => {
    const before = config({ backends })
    const file = config({ backends, strategy: "ip-hash", server: { port: 9999 } })
    const inForce = applyReload(before, file)
    assert.strictEqual(inForce.strategy, "ip-hash")
    assert.strictEqual(inForce.server.port, 8080)
    assert.deepStrictEqual(diffSettings(inForce, file), {
      changed: [],
      restartNeeded: [{ setting: "server.port", from: 8080, to: 9999 }]
    })
  })

  it("the admin token is never shown, only that it changed", () => {
    const before = config({ backends, admin: { token: "old-secret" } })
    const after = config({ backends, admin: { token: "new-secret" } })
    assert.deepStrictEqual(diffSettings(before, after).restartNeeded, [{
      setting: "admin.token",
      from: "(secret)",
      to: "(secret)"
    }])
    assert.deepStrictEqual(diffSettings(config({ backends }), after).restartNeeded, [
      { setting: "admin.token", from: null, to: "(secret)" }
    ])
  })

  it("the log line names every applied setting and every one waiting for a restart, with both values", () => {
    const nothing = { added: [], updated: [], removed: [], changed: [], restartNeeded: [] }
    assert.strictEqual(
      describeReload({ ...nothing, added: ["c"], removed: ["a"] }),
      "config reloaded: 1 added, 0 updated, 1 removed"
    )
    assert.strictEqual(
      describeReload({
        ...nothing,
        changed: [
          { setting: "strategy", from: "round-robin", to: "ip-hash" },
          { setting: "routes", from: null, to: [{ match: { pathPrefix: "/s" }, pool: "static" }] }
        ],
        restartNeeded: [{ setting: "server.port", from: 8080, to: 9999 }]
      }),
      "config reloaded: 0 added, 0 updated, 0 removed; changed: strategy round-robin → ip-hash, " +
        `routes (none) → [{"match":{"pathPrefix":"/s"},"pool":"static"}]; ` +
        "a restart is needed to apply: server.port 8080 → 9999"
    )
  })
})

/** Config files that differ in a sample of every kind of setting: reloadable, restart-only, split, optional. */
const configs: fc.Arbitrary<Config> = fc.record({
  strategy: fc.constantFrom(...strategyNames),
  server: fc.record({ port: fc.constantFrom(8080, 8081), gracePeriod: fc.constantFrom("30s", "5s") }, {
    requiredKeys: []
  }),
  admin: fc.record({ token: fc.constantFrom("t1", "t2") }, { requiredKeys: [] }),
  timeouts: fc.record({ request: fc.constantFrom("30s", "5s") }, { requiredKeys: [] }),
  retry: fc.record({
    attempts: fc.constantFrom(1, 3),
    maxDelay: fc.constantFrom("1s", "2s"),
    honorRetryAfter: fc.boolean(),
    budget: fc.constantFrom({}, { percent: 10 })
  }, { requiredKeys: [] }),
  circuitBreaker: fc.record({ failureThreshold: fc.constantFrom(3, 5) }, { requiredKeys: [] }),
  healthCheck: fc.record({ path: fc.constantFrom("/health", "/ready") }, { requiredKeys: [] }),
  consistentHash: fc.record({ key: fc.constantFrom("client-ip", "path") }, { requiredKeys: [] }),
  ewma: fc.record({ decay: fc.constantFrom("10s", "1s") }, { requiredKeys: [] }),
  slowStart: fc.constantFrom({}, { window: "5s" }),
  outlierDetection: fc.constant({}),
  rateLimit: fc.constantFrom({ requestsPerSecond: 10, burst: 20 }, { requestsPerSecond: 5, burst: 5 }),
  cache: fc.record({ maxEntries: fc.constantFrom(10, 1000) }, { requiredKeys: [] }),
  tracing: fc.constant({ otlpEndpoint: "http://127.0.0.1:4318/v1/traces" }),
  journal: fc.constantFrom("/tmp/a.jsonl", "/tmp/b.jsonl"),
  discovery: fc.constantFrom({ servers: ["127.0.0.1:5353"] }, { servers: ["10.0.0.2"] }),
  trustProxy: fc.boolean(),
  logging: fc.record({ level: fc.constantFrom("info", "error") }, { requiredKeys: [] }),
  metrics: fc.record({ historySize: fc.constantFrom(10, 300) }, { requiredKeys: [] }),
  staticStrategy: fc.constantFrom(...strategyNames),
  routed: fc.boolean()
}, { requiredKeys: ["strategy"] }).map(({ routed, staticStrategy, ...settings }) =>
  config({
    ...settings,
    backends,
    ...(staticStrategy === undefined ? {} : {
      pools: { static: { ...staticPool, strategy: staticStrategy } },
      ...(routed === true ? { routes: [{ match: { pathPrefix: "/s" }, pool: "static" }] } : {})
    })
  })
)

describe("config diff: properties", () => {
  it("a config compared with itself changes nothing", () => {
    fc.assert(fc.property(configs, (c) => {
      assert.deepStrictEqual(diffSettings(c, c), { changed: [], restartNeeded: [] })
    }))
  })

  it("after a reload every reloadable setting of the file is in force and every restart-only one still pending", () => {
    fc.assert(fc.property(configs, configs, (running, file) => {
      const expected = diffSettings(running, file)
      const inForce = applyReload(running, file)
      assert.deepStrictEqual(diffSettings(inForce, file), { changed: [], restartNeeded: expected.restartNeeded })
      assert.deepStrictEqual(diffSettings(running, inForce), { changed: expected.changed, restartNeeded: [] })
    }))
  })
})
