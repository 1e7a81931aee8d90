/**
 * Hot reload over real sockets: backends join and leave under continuous load without a failed
 * request; an invalid file changes nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { writeFileSync } from "node:fs"
import { startBackend } from "../support/Backends.ts"
import { writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { startProxy, startProxyFromFile } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const configText = (backends: ReadonlyArray<{ readonly name: string; readonly url: string }>, extra = "") =>
  `server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { level: error, access: false }
backends:
${backends.map((b) => `  - { name: ${b.name}, url: "${b.url}" }`).join("\n")}
${extra}`

/** A backend that takes a little while, so requests are in flight when the reload lands. */
const slowish = (name: string) =>
  startBackend(name, (request, response) => {
    request.resume()
    setTimeout(() => response.end(JSON.stringify({ backend: name })), 5)
  })

describe("hot reload", () => {
  it.live("backends join and leave under continuous load and no request fails", () =>
    Effect.gen(function*() {
      const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], slowish)
      if (a === undefined || b === undefined || c === undefined) return
      const file = writeConfig(configText([a, b]))
      const proxy = yield* startProxyFromFile(file)
      // Flipped by the test's own fiber below while the clients loop: a ref, so the loop sees it.
      const loop = { running: true }
      const statuses: Array<number> = []
      const client = Effect.gen(function*() {
        while (loop.running) statuses.push((yield* send(proxy.url)).status)
      })
      const load = yield* Effect.forkChild(Effect.all([client, client, client, client], { concurrency: "unbounded" }))
      yield* waitUntil(() => statuses.length >= 40)

      writeFileSync(file, configText([b, c]))
      const reply = yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })
      assert.strictEqual(reply.status, 200)
      assert.deepInclude(JSON.parse(reply.text), { status: "reloaded", added: ["c"], updated: [], removed: ["a"] })
      yield* waitUntil(() => proxy.registry.get("a") === undefined)
      const servedByA = a.arrivals()
      const before = statuses.length
      yield* waitUntil(() => statuses.length >= before + 60)
      loop.running = false
      yield* Fiber.join(load)

      assert.deepStrictEqual([...new Set(statuses)], [200], "every request succeeded")
      assert.strictEqual(a.arrivals(), servedByA, "a took no request once drained")
      assert.isAbove(c.arrivals(), 0, "c joined the rotation")
      assert.deepStrictEqual(proxy.registry.pool().map((s) => s.spec.name), ["b", "c"])
    }))

  it.live("an invalid file is refused with every problem and changes nothing", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const file = writeConfig(configText([a]))
      const proxy = yield* startProxyFromFile(file)
      writeFileSync(file, `${configText([a])}strategy: fastest\nretry: { attempts: 0 }\n`)
      const reply = yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })
      assert.strictEqual(reply.status, 422)
      const body = JSON.parse(reply.text)
      assert.strictEqual(body.status, "refused")
      assert.strictEqual(body.problems.length, 2)
      assert.match(body.problems[0], new RegExp(`^${file}:\\d+:\\d+: strategy: `))
      assert.strictEqual((yield* send(proxy.url)).status, 200, "still serving with the running config")
    }))

  it.live("reports settings a restart must apply, and applies new routes and strategies at once", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const b = yield* startBackend("b")
      const file = writeConfig(configText([a]))
      const proxy = yield* startProxyFromFile(file)
      writeFileSync(
        file,
        configText(
          [a],
          `timeouts: { request: 5s }
pools:
  other: { backends: [{ name: b, url: "${b.url}" }] }
routes:
  - { match: { pathPrefix: /other }, pool: other }
`
        )
      )
      const reply = JSON.parse((yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })).text)
      assert.deepStrictEqual(reply.restartNeeded, [{ setting: "timeouts.request", from: "30s", to: "5s" }])
      assert.deepStrictEqual(reply.added, ["b"])
      assert.strictEqual(JSON.parse((yield* send(proxy.url, { path: "/other/x" })).text).backend, "b")
    }))

  it.live("a new strategy shows in the answer, /status and the JSON snapshot, and traffic follows it", () =>
    Effect.gen(function*() {
      const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (name) => startBackend(name))
      if (a === undefined || b === undefined || c === undefined) return
      const withStrategies = (strategy: string, other: string) =>
        configText(
          [a, b],
          `strategy: ${strategy}
pools:
  other: { strategy: ${other}, backends: [{ name: c, url: "${c.url}" }] }
`
        )
      const file = writeConfig(withStrategies("round-robin", "least-connections"))
      const proxy = yield* startProxyFromFile(file)
      const servedBy = (count: number) =>
        Effect.forEach(
          Array.from({ length: count }),
          () => Effect.map(send(proxy.url), (reply) => String(JSON.parse(reply.text).backend))
        )
      assert.deepStrictEqual([...new Set(yield* servedBy(4))].sort(), ["a", "b"], "round-robin spreads")

      writeFileSync(file, withStrategies("ip-hash", "random"))
      const reply = yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(JSON.parse(reply.text), {
        status: "reloaded",
        added: [],
        updated: [],
        removed: [],
        changed: [
          { setting: "strategy", from: "round-robin", to: "ip-hash" },
          { setting: "pools.other.strategy", from: "least-connections", to: "random" }
        ],
        restartNeeded: []
      })
      assert.strictEqual(new Set(yield* servedBy(6)).size, 1, "ip-hash keeps one client on one backend")

      const pools = [
        { name: "default", strategy: "ip-hash", backends: ["a", "b"], available: 2 },
        { name: "other", strategy: "random", backends: ["c"], available: 1 }
      ]
      const status = JSON.parse((yield* send(proxy.adminUrl, { path: "/status" })).text)
      assert.deepStrictEqual([status.strategy, status.pools], ["ip-hash", pools])
      const snapshot = JSON.parse((yield* send(proxy.adminUrl, { path: "/metrics?format=json" })).text)
      assert.deepStrictEqual([snapshot.strategy, snapshot.pools], ["ip-hash", pools])
    }))

  it.live("a setting that needs a restart is reported by every reload until then, with its running value", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const file = writeConfig(configText([a]))
      const proxy = yield* startProxyFromFile(file)
      writeFileSync(file, configText([a], "cache: { maxEntries: 10 }\n"))
      const pending = [{ setting: "cache", from: null, to: { maxEntries: 10, maxBytes: "64MiB", ttl: "5m" } }]
      for (const _ of [1, 2]) {
        const reply = JSON.parse((yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })).text)
        assert.deepStrictEqual([reply.changed, reply.restartNeeded], [[], pending])
      }
      const first = yield* send(proxy.url)
      const second = yield* send(proxy.url)
      assert.deepStrictEqual(
        [first.headers["x-cache"], second.headers["x-cache"]],
        [undefined, undefined],
        "no cache yet"
      )
    }))

  it.live("a config built in code cannot be reloaded (409), and /reload needs the admin token", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({ admin: { token: "t" }, backends: [{ url: a.url }] })
      assert.strictEqual((yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })).status, 401)
      const reply = yield* send(proxy.adminUrl, {
        method: "POST",
        path: "/reload",
        headers: { authorization: "Bearer t" }
      })
      assert.strictEqual(reply.status, 409)
    }))
})
