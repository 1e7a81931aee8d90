/**
 * The backends API over real sockets: backends added, reweighted, drained and removed while the
 * proxy serves, each change seen on `/events`, and a reload of the file putting its backends back.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { writeFileSync } from "node:fs"
import { startBackend } from "../support/Backends.ts"
import type { Handler, TestBackend } from "../support/Backends.ts"
import { writeConfig } from "../support/Cli.ts"
import { tagsFor, watchEvents } from "../support/Events.ts"
import { send } from "../support/Http.ts"
import type { Reply } from "../support/Http.ts"
import { startProxy, startProxyFromFile } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const json = (reply: Reply): Record<string, unknown> => JSON.parse(reply.text)

/** An admin API call with a JSON body. */
const call = (adminUrl: string, method: string, path: string, body?: unknown, token?: string) =>
  send(adminUrl, {
    method,
    path,
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
  })

/** Holds `/slow` requests until released; answers the rest at once with the backend's name. */
const holding = (held: Array<() => void>): Handler => (request, response, backend) => {
  request.resume()
  const answer = () => response.end(backend.name)
  if (request.url === "/slow") held.push(answer)
  else answer()
}

/** Answers with the backend's name. */
const answersName: Handler = (request, response, backend) => {
  request.resume()
  response.end(backend.name)
}

const servedBy = (replies: ReadonlyArray<Reply>) => replies.map((reply) => reply.text)

const sendMany = (url: string, count: number) => Effect.forEach(Array.from({ length: count }), () => send(url))

/** Sends `/slow` until one is held by a backend; that backend and the pending reply. */
const holdOne = (url: string, backends: ReadonlyArray<TestBackend>, held: Array<() => void>) =>
  Effect.gen(function*() {
    const before = backends.map((backend) => backend.arrivals())
    const reply = yield* Effect.forkChild(send(url, { path: "/slow" }))
    yield* waitUntil(() => held.length === 1)
    const holder = backends.find((backend, index) => backend.arrivals() > (before[index] ?? 0))
    return { holder: holder?.name ?? assert.fail("no backend took the request"), reply }
  })

/**
 * Two backends that hold every request, a proxy over them with its `/events` watched, and one
 * request held in flight: which backend holds it, the other one, and the request's reply to come.
 */
const oneRequestHeld = Effect.gen(function*() {
  const held: Array<() => void> = []
  const backends = yield* Effect.forEach(["a", "b"], (name) => startBackend(name, holding(held)))
  const proxy = yield* startProxy({
    backends: backends.map((backend) => ({ name: backend.name, url: backend.url }))
  })
  const events = yield* watchEvents(proxy.adminUrl)
  const { holder, reply } = yield* holdOne(proxy.url, backends, held)
  return { events, held, holder, other: holder === "a" ? "b" : "a", proxy, reply }
})

describe("backends API", () => {
  it.live("a backend added by POST takes traffic, is listed, and its join is on /events", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", answersName)
      const b = yield* startBackend("b", answersName)
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      const events = yield* watchEvents(proxy.adminUrl)

      const created = yield* call(proxy.adminUrl, "POST", "/backends", { url: b.url, name: "b", weight: 2 })
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.headers["location"], "/backends/b")
      assert.deepInclude(json(created), { name: "b", pool: "default", url: b.url, weight: 2, available: true })

      assert.deepStrictEqual(servedBy(yield* sendMany(proxy.url, 4)), ["a", "b", "a", "b"])
      const listed = json(yield* call(proxy.adminUrl, "GET", "/backends"))["backends"] as Array<{ name: string }>
      assert.deepStrictEqual(listed.map((backend) => backend.name), ["a", "b"])
      yield* waitUntil(() => tagsFor(events(), "b").includes("BackendAdded"))
    }))

  it.live("PATCH changes a backend's share of the traffic", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", answersName)
      const b = yield* startBackend("b", answersName)
      const proxy = yield* startProxy({
        strategy: "weighted-round-robin",
        backends: [{ name: "a", url: a.url }, { name: "b", url: b.url }]
      })
      const even = servedBy(yield* sendMany(proxy.url, 20))
      assert.strictEqual(even.filter((name) => name === "b").length, 10)

      const patched = yield* call(proxy.adminUrl, "PATCH", "/backends/b", { weight: 3, maxConnections: 50 })
      assert.strictEqual(patched.status, 200)
      assert.deepInclude(json(patched), { name: "b", weight: 3, maxConnections: 50 })
      const weighted = servedBy(yield* sendMany(proxy.url, 40))
      assert.strictEqual(weighted.filter((name) => name === "b").length, 30)
    }))

  it.live("a drained backend takes no new request, finishes the one in flight, and takes traffic again when undrained", () =>
    Effect.gen(function*() {
      const { events, held, holder, other, proxy, reply } = yield* oneRequestHeld

      const drained = yield* call(proxy.adminUrl, "POST", `/backends/${holder}/drain`)
      assert.strictEqual(drained.status, 200)
      assert.deepInclude(json(drained), { name: holder, draining: true, available: false, inFlight: 1 })
      assert.deepStrictEqual(servedBy(yield* sendMany(proxy.url, 6)), Array(6).fill(other))
      held.forEach((release) => release())
      const finished = yield* Fiber.join(reply)
      assert.deepStrictEqual([finished.status, finished.text], [200, holder])
      assert.deepInclude(json(yield* call(proxy.adminUrl, "GET", `/backends/${holder}`)), {
        draining: true,
        inFlight: 0,
        removed: false
      })
      assert.strictEqual((yield* call(proxy.adminUrl, "POST", `/backends/${holder}/drain`)).status, 200, "again: no-op")

      const undrained = yield* call(proxy.adminUrl, "POST", `/backends/${holder}/undrain`)
      assert.deepInclude(json(undrained), { draining: false, available: true })
      assert.include(servedBy(yield* sendMany(proxy.url, 4)), holder)
      yield* waitUntil(() => tagsFor(events(), holder).join() === "BackendDrained,BackendUndrained")
    }))

  it.live("DELETE takes a backend out at once; it is forgotten once its request in flight has finished", () =>
    Effect.gen(function*() {
      const { events, held, holder, other, proxy, reply } = yield* oneRequestHeld

      const removed = yield* call(proxy.adminUrl, "DELETE", `/backends/${holder}`)
      assert.strictEqual(removed.status, 200)
      assert.deepStrictEqual(json(removed), { name: holder, removed: true, inFlight: 1 })
      assert.deepStrictEqual(servedBy(yield* sendMany(proxy.url, 4)), Array(4).fill(other))
      assert.deepInclude(json(yield* call(proxy.adminUrl, "GET", `/backends/${holder}`)), { removed: true })

      held.forEach((release) => release())
      assert.strictEqual((yield* Fiber.join(reply)).status, 200)
      assert.strictEqual((yield* call(proxy.adminUrl, "GET", `/backends/${holder}`)).status, 404)
      assert.strictEqual((yield* call(proxy.adminUrl, "DELETE", `/backends/${holder}`)).status, 404)
      yield* waitUntil(() => tagsFor(events(), holder).includes("BackendRemoved"))

      const last = yield* call(proxy.adminUrl, "DELETE", `/backends/${other}`)
      assert.strictEqual(last.status, 409)
      assert.match(String(json(last)["message"]), /last backend of pool "default"/)
    }))

  it.live("adding, reweighting, draining and removing under continuous load fails no request", () =>
    Effect.gen(function*() {
      const backends = yield* Effect.forEach(
        ["a", "b", "c"],
        (name) =>
          startBackend(name, (request, response, backend) => {
            request.resume()
            setTimeout(() => response.end(backend.name), 3)
          })
      )
      const [a, b, c] = backends
      if (a === undefined || b === undefined || c === undefined) return
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }, { name: "b", url: b.url }] })
      const loop = { running: true }
      const statuses: Array<number> = []
      const client = Effect.gen(function*() {
        while (loop.running) statuses.push((yield* send(proxy.url)).status)
      })
      const load = yield* Effect.forkChild(Effect.all([client, client, client, client], { concurrency: "unbounded" }))
      const step = (method: string, path: string, body?: unknown) =>
        Effect.gen(function*() {
          const at = statuses.length
          assert.isBelow((yield* call(proxy.adminUrl, method, path, body)).status, 300, `${method} ${path}`)
          yield* waitUntil(() => statuses.length >= at + 20)
        })
      yield* step("POST", "/backends", { name: "c", url: c.url })
      yield* step("PATCH", "/backends/a", { weight: 3 })
      yield* step("POST", "/backends/a/drain")
      yield* step("DELETE", "/backends/b")
      yield* step("POST", "/backends/a/undrain")
      loop.running = false
      yield* Fiber.join(load)
      assert.deepStrictEqual([...new Set(statuses)], [200], "every request succeeded")
      assert.deepStrictEqual(proxy.registry.pool().map((state) => state.spec.name), ["a", "c"])
    }))

  it.live("a bad body is answered 400 with every problem; an unknown name 404", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", answersName)
      const proxy = yield* startProxy({ backends: [{ name: "a", url: a.url }] })
      const bad = yield* call(proxy.adminUrl, "POST", "/backends", {
        url: "ftp://x",
        weight: 0,
        maxConnections: "many",
        pool: 7
      })
      assert.strictEqual(bad.status, 400)
      const problems = json(bad)["problems"] as Array<{ path: string; message: string }>
      assert.deepStrictEqual(problems.map((problem) => problem.path), ["url", "weight", "maxConnections", "pool"])

      const duplicate = yield* call(proxy.adminUrl, "POST", "/backends", { url: "http://127.0.0.1:1", name: "a" })
      assert.deepStrictEqual(json(duplicate)["problems"], [
        { path: "name", message: `Duplicate backend name "a" (in pool default)` }
      ])
      const notJson = yield* call(proxy.adminUrl, "POST", "/backends", "{url:")
      assert.strictEqual(notJson.status, 400)
      const patch = yield* call(proxy.adminUrl, "PATCH", "/backends/a", { weight: -1, name: "b" })
      assert.deepStrictEqual(
        (json(patch)["problems"] as Array<{ path: string }>).map((problem) => problem.path),
        ["name", "weight"]
      )
      for (
        const [method, path] of [["GET", "/backends/zz"], ["PATCH", "/backends/zz"], ["DELETE", "/backends/zz"], [
          "POST",
          "/backends/zz/drain"
        ], ["POST", "/backends/zz/undrain"]] as const
      ) {
        const reply = yield* call(proxy.adminUrl, method, path, { weight: 2 })
        assert.strictEqual(reply.status, 404, `${method} ${path}`)
        assert.deepStrictEqual(json(reply), { status: "not-found", message: `no backend is named "zz"` })
      }
      assert.strictEqual(proxy.registry.all().length, 1, "nothing changed")
    }))

  it.live("with admin.token, every backends route needs the bearer token", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", answersName)
      const b = yield* startBackend("b", answersName)
      const proxy = yield* startProxy({ admin: { token: "t0k" }, backends: [{ name: "a", url: a.url }] })
      for (
        const [method, path] of [["GET", "/backends"], ["POST", "/backends"], ["PATCH", "/backends/a"], [
          "POST",
          "/backends/a/drain"
        ], ["DELETE", "/backends/a"]] as const
      ) {
        assert.strictEqual((yield* call(proxy.adminUrl, method, path, { url: b.url })).status, 401, `${method} ${path}`)
      }
      assert.strictEqual(proxy.registry.all().length, 1)
      const created = yield* call(proxy.adminUrl, "POST", "/backends", { url: b.url, name: "b" }, "t0k")
      assert.strictEqual(created.status, 201)
    }))

  it.live("a reload of the file replaces what the API changed with the file's backends", () =>
    Effect.gen(function*() {
      const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (name) => startBackend(name, answersName))
      if (a === undefined || b === undefined || c === undefined) return
      const text = `server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { level: error, access: false }
strategy: weighted-round-robin
backends:
  - { name: a, url: "${a.url}" }
  - { name: b, url: "${b.url}" }
`
      const file = writeConfig(text)
      const proxy = yield* startProxyFromFile(file)
      assert.strictEqual((yield* call(proxy.adminUrl, "POST", "/backends", { url: c.url, name: "c" })).status, 201)
      assert.strictEqual((yield* call(proxy.adminUrl, "PATCH", "/backends/b", { weight: 4 })).status, 200)
      assert.strictEqual((yield* call(proxy.adminUrl, "POST", "/backends/a/drain")).status, 200)
      assert.deepStrictEqual([...new Set(servedBy(yield* sendMany(proxy.url, 10)))].sort(), ["b", "c"])

      writeFileSync(file, text)
      const reloaded = yield* call(proxy.adminUrl, "POST", "/reload")
      assert.deepInclude(json(reloaded), { status: "reloaded", added: [], updated: ["b", "a"], removed: ["c"] })
      assert.deepStrictEqual(servedBy(yield* sendMany(proxy.url, 4)), ["a", "b", "a", "b"])
      const listed = json(yield* call(proxy.adminUrl, "GET", "/backends"))["backends"] as Array<Record<string, unknown>>
      assert.deepStrictEqual(listed.map((backend) => [backend["name"], backend["weight"], backend["draining"]]), [
        ["a", 1, false],
        ["b", 1, false]
      ])
    }))
})
