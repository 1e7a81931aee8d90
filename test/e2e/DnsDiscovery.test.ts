/**
 * `discovery: dns` end to end: the proxy resolves a host through a DNS server in this process
 * (real packets on a loopback port, `discovery.servers`), and its addresses — backends on
 * 127.0.0.1, 127.0.0.2, 127.0.0.3 and ::1, one port — become members named `name@address`.
 * TTLs of 1 s keep each change within a second or two of real time.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer as createHttpsServer } from "node:https"
import type { Server as HttpsServer } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TLSSocket } from "node:tls"
import { getCACertificates, setDefaultCACertificates } from "node:tls"
import type { Handler, TestBackend } from "../support/Backends.ts"
import { echoName, startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { startDnsServer } from "../support/DnsServer.ts"
import type { TestDnsServer } from "../support/DnsServer.ts"
import { tagsFor, watchEvents } from "../support/Events.ts"
import { send } from "../support/Http.ts"
import { startProxy, startProxyFromFile } from "../support/Proxy.ts"
import type { RunningProxy } from "../support/Proxy.ts"

const host = "api.switchyard.test"

/** Backends on each of `hosts`, all on one port: what one name's addresses point at. */
const backendsAt = (hosts: ReadonlyArray<string>, handler: (host: string) => Handler = () => echoName) =>
  Effect.gen(function*() {
    const first = yield* startBackend(hosts[0] ?? "", handler(hosts[0] ?? ""))
    const rest = yield* Effect.forEach(
      hosts.slice(1),
      (at) => startBackend(at, handler(at), { host: at, port: first.port })
    )
    return [first, ...rest]
  })

/** A certificate for `host` alone (no address in it), trusted by this process for the HTTPS test. */
const tlsFixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url))
const namedCert = { cert: tlsFixture("named-cert.pem"), key: tlsFixture("named-key.pem") }
const defaultCAs = getCACertificates("default")
beforeAll(() => setDefaultCACertificates([...defaultCAs, namedCert.cert.toString()]))
afterAll(() => setDefaultCACertificates(defaultCAs))

/** HTTPS servers with `host`'s certificate on each of `addresses`, one port; each answers with its address and the TLS name it was asked for. */
const httpsBackendsAt = (addresses: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const servers: Array<HttpsServer> = []
      let port = 0
      for (const address of addresses) {
        const server = createHttpsServer(namedCert, (request, response) => {
          request.resume()
          const servername = (request.socket as TLSSocket).servername
          response.end(JSON.stringify({ backend: address, servername, path: request.url }))
        })
        await new Promise<void>((listening) => server.listen(port, address, listening))
        port = (server.address() as { port: number }).port
        servers.push(server)
      }
      return { servers, port }
    }),
    ({ servers }) => Effect.sync(() => servers.forEach((server) => server.close()))
  )

/** The members' names in the registry, live ones only. */
const members = (proxy: RunningProxy): ReadonlyArray<string> =>
  proxy.registry.all().filter((state) => !state.removed).map((state) => state.spec.name).sort()

const discoveredConfig = (dns: TestDnsServer, port: number, extra: Record<string, unknown> = {}) => ({
  discovery: { servers: [dns.address] },
  backends: [{ name: "api", url: `http://${host}:${port}`, discovery: "dns" }],
  ...extra
})

/** Which backend answered each of `count` requests, by name. */
const answeredBy = (proxy: RunningProxy, count: number) =>
  Effect.forEach(Array.from({ length: count }), () =>
    send(proxy.url).pipe(Effect.map((reply) => {
      assert.strictEqual(reply.status, 200)
      return String(JSON.parse(reply.text).backend)
    })))

/** Polls a condition on real I/O for up to `seconds` (the resolver backs off while DNS fails). */
const eventually = (condition: () => boolean, seconds = 8) =>
  Effect.sync(condition).pipe(
    Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("20 millis") }),
    Effect.timeout(`${seconds} seconds`),
    Effect.asVoid
  )

/** Answers `/health` with 503 until `ready.now`, and any other path with its name. */
const readyWhen = (ready: { now: boolean }): Handler => (request, response, backend) => {
  if (request.url === "/health" && !ready.now) {
    request.resume()
    response.writeHead(503)
    response.end()
    return
  }
  echoName(request, response, backend)
}

/** Holds each `/slow` request until its release is called; answers the rest at once. */
const holding = (held: Array<() => void>): Handler => (request, response, backend) => {
  if (request.url !== "/slow") return echoName(request, response, backend)
  request.resume()
  request.on("end", () => held.push(() => response.end(JSON.stringify({ backend: backend.name }))))
}

const proxied = (backend: TestBackend) => backend.deliveries.filter((delivery) => delivery.url !== "/health").length

describe("DNS discovery", () => {
  it.live("every A and AAAA address of the host is a backend named name@address, and each takes traffic", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const backends = yield* backendsAt(["127.0.0.1", "127.0.0.2", "::1"])
      dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], aaaa: ["::1"], ttl: 60 })
      const proxy = yield* startProxy(discoveredConfig(dns, backends[0]?.port ?? 0))
      assert.deepStrictEqual(members(proxy), ["api@127.0.0.1", "api@127.0.0.2", "api@::1"])
      assert.strictEqual(proxy.registry.get("api@::1")?.spec.url, `http://[::1]:${backends[0]?.port}/`)
      const served = yield* answeredBy(proxy, 6)
      assert.deepStrictEqual([...new Set(served)].sort(), ["127.0.0.1", "127.0.0.2", "::1"])
    }))

  it.live("an HTTPS member is asked for the name it was resolved from (SNI), and its certificate checks against it", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const { port } = yield* httpsBackendsAt(["127.0.0.1", "127.0.0.2"])
      dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], ttl: 60 })
      const proxy = yield* startProxy({
        discovery: { servers: [dns.address] },
        backends: [{ name: "api", url: `https://${host}:${port}`, discovery: "dns" }],
        healthCheck: { path: "/health", interval: "200ms", timeout: "200ms", healthyThreshold: 1 }
      })
      // The probes verified each member's certificate too: both healthy.
      yield* eventually(() => proxy.registry.all().filter((state) => state.healthy && !state.removed).length === 2)
      const replies = yield* Effect.forEach(Array.from({ length: 4 }), () => send(proxy.url))
      assert.deepStrictEqual(replies.map((reply) => reply.status), [200, 200, 200, 200])
      const answers = replies.map((reply) => JSON.parse(reply.text))
      assert.deepStrictEqual(new Set(answers.map((answer) => answer.backend)), new Set(["127.0.0.1", "127.0.0.2"]))
      assert.deepStrictEqual(new Set(answers.map((answer) => answer.servername)), new Set([host]))
    }))

  it.live("a new address joins when the TTL runs out, and with health checks takes traffic only once probed healthy", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const ready = { now: false }
      const backends = yield* backendsAt(
        ["127.0.0.1", "127.0.0.3"],
        (at) => at === "127.0.0.3" ? readyWhen(ready) : echoName
      )
      const late = backends[1]
      if (late === undefined) return assert.fail("no backend")
      dns.set(host, { a: ["127.0.0.1"], ttl: 1 })
      const proxy = yield* startProxy(discoveredConfig(dns, late.port, {
        healthCheck: { path: "/health", interval: "100ms", timeout: "100ms", healthyThreshold: 1 }
      }))
      yield* eventually(() => proxy.registry.get("api@127.0.0.1")?.healthy === true)
      dns.set(host, { a: ["127.0.0.1", "127.0.0.3"], ttl: 1 })
      yield* eventually(() => proxy.registry.get("api@127.0.0.3") !== undefined, 3)
      // Probed and found unhealthy: it is a member, and takes nothing.
      yield* eventually(() => late.deliveries.length >= 2)
      assert.strictEqual(proxy.registry.get("api@127.0.0.3")?.healthy, false)
      assert.deepStrictEqual(new Set(yield* answeredBy(proxy, 6)), new Set(["127.0.0.1"]))
      assert.strictEqual(proxied(late), 0)
      ready.now = true
      yield* eventually(() => proxy.registry.get("api@127.0.0.3")?.healthy === true)
      assert.deepStrictEqual(new Set(yield* answeredBy(proxy, 6)), new Set(["127.0.0.1", "127.0.0.3"]))
    }))

  it.live("a vanished address is drained: its request in flight finishes, it takes no new one; the journal and /events record it", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const held: Array<() => void> = []
      const backends = yield* backendsAt(["127.0.0.1", "127.0.0.2"], () => holding(held))
      const journal = join(mkdtempSync(join(tmpdir(), "switchyard-dns-")), "events.jsonl")
      dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 })
      const proxy = yield* startProxy(discoveredConfig(dns, backends[0]?.port ?? 0, { journal }))
      const events = yield* watchEvents(proxy.adminUrl)
      // Round robin gives one to each address.
      const slow = yield* Effect.forkChild(
        Effect.all([send(proxy.url, { path: "/slow" }), send(proxy.url, { path: "/slow" })], {
          concurrency: 2
        })
      )
      yield* eventually(() => held.length === 2)
      dns.set(host, { a: ["127.0.0.1"], ttl: 1 })
      yield* eventually(() => proxy.registry.get("api@127.0.0.2")?.removed === true, 3)
      assert.deepStrictEqual(new Set(yield* answeredBy(proxy, 4)), new Set(["127.0.0.1"]))
      held.forEach((release) => release())
      const replies = yield* Fiber.join(slow)
      assert.deepStrictEqual(replies.map((reply) => reply.status), [200, 200])
      assert.deepStrictEqual(
        new Set(replies.map((reply) => String(JSON.parse(reply.text).backend))),
        new Set(["127.0.0.1", "127.0.0.2"])
      )
      yield* eventually(() => proxy.registry.get("api@127.0.0.2") === undefined)
      assert.deepStrictEqual(tagsFor(events(), "api@127.0.0.2"), ["BackendRemoved"], "on /events as it happened")
      yield* eventually(() => readFileSync(journal, "utf8").includes(`"BackendRemoved"`))
      const membership = readFileSync(journal, "utf8").trim().split("\n").map((line) => JSON.parse(line))
        .filter((event) => event._tag === "BackendAdded" || event._tag === "BackendRemoved")
        .map((event) => `${event._tag} ${event._tag === "BackendAdded" ? event.spec.name : event.backend}`)
      assert.deepStrictEqual(membership, [
        "BackendAdded api@127.0.0.1",
        "BackendAdded api@127.0.0.2",
        "BackendRemoved api@127.0.0.2"
      ])
    }))

  it.live("while DNS fails (SERVFAIL, then NXDOMAIN) the last answer keeps serving; the next good one is taken", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const backends = yield* backendsAt(["127.0.0.1", "127.0.0.2"])
      dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 })
      const proxy = yield* startProxy(discoveredConfig(dns, backends[0]?.port ?? 0))
      const asked = dns.queries(host)
      dns.set(host, { fail: "SERVFAIL" })
      yield* eventually(() => dns.queries(host) >= asked + 2, 3)
      dns.set(host, { fail: "NXDOMAIN" })
      yield* eventually(() => dns.queries(host) >= asked + 4, 3)
      assert.deepStrictEqual(members(proxy), ["api@127.0.0.1", "api@127.0.0.2"])
      assert.deepStrictEqual(new Set(yield* answeredBy(proxy, 4)), new Set(["127.0.0.1", "127.0.0.2"]))
      dns.set(host, { a: ["127.0.0.2"], ttl: 1 })
      yield* eventually(() => members(proxy).length === 1)
      assert.deepStrictEqual(members(proxy), ["api@127.0.0.2"])
    }))

  it.live("a reload of the file keeps the discovered members, updates them with their source, and goes on resolving", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const backends = yield* backendsAt(["127.0.0.1", "127.0.0.2"])
      const port = backends[0]?.port ?? 0
      dns.set(host, { a: ["127.0.0.1"], ttl: 1 })
      const yaml = (weight: number) =>
        [
          "server: { host: 127.0.0.1, port: 0 }",
          "admin: { host: 127.0.0.1, port: 0 }",
          "logging: { level: error, access: false }",
          `discovery: { servers: ["${dns.address}"] }`,
          "backends:",
          `  - { name: api, url: "http://${host}:${port}", discovery: dns, weight: ${weight} }`,
          ""
        ].join("\n")
      const file = join(mkdtempSync(join(tmpdir(), "switchyard-dns-")), "config.yaml")
      writeFileSync(file, yaml(1))
      const proxy = yield* startProxyFromFile(file)
      writeFileSync(file, yaml(3))
      const reload = yield* send(proxy.adminUrl, { method: "POST", path: "/reload" })
      assert.strictEqual(reload.status, 200)
      assert.deepStrictEqual(JSON.parse(reload.text).updated, ["api@127.0.0.1"])
      assert.deepStrictEqual(members(proxy), ["api@127.0.0.1"])
      assert.strictEqual(proxy.registry.get("api@127.0.0.1")?.spec.weight, 3)
      dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 })
      yield* eventually(() => members(proxy).length === 2, 3)
      assert.strictEqual(proxy.registry.get("api@127.0.0.2")?.spec.weight, 3)
    }))

  it.live(
    "with workers, the supervisor resolves and every worker follows: a new address takes traffic, a vanished one none",
    () =>
      Effect.gen(function*() {
        const dns = yield* startDnsServer
        const backends = yield* backendsAt(["127.0.0.1", "127.0.0.2"])
        dns.set(host, { a: ["127.0.0.1"], ttl: 1 })
        const file = writeConfig([
          "server: { host: 127.0.0.1, port: 0, gracePeriod: 5s }",
          "admin: { host: 127.0.0.1, port: 0 }",
          "logging: { access: false }",
          "workers: 2",
          `discovery: { servers: ["${dns.address}"] }`,
          "backends:",
          `  - { name: api, url: "http://${host}:${backends[0]?.port ?? 0}", discovery: dns }`,
          ""
        ].join("\n"))
        const cli = yield* startCli(["serve", "--config", file])
        yield* cli.waitFor(/proxy listening on \S+ \(2 workers\)/)
        const url = `http://127.0.0.1:${yield* listeningPort(cli)}`
        // Fresh connections, so the kernel spreads them over both workers.
        const servedBy = Effect.forEach(Array.from({ length: 8 }), () =>
          send(url).pipe(Effect.map((reply) => reply.status === 200 ? String(JSON.parse(reply.text).backend) : "")))
        const until = (wanted: ReadonlySet<string>) =>
          servedBy.pipe(
            Effect.repeat({
              until: (served) =>
                served.every((name) => wanted.has(name)) && served.some((name) => name !== "127.0.0.1"),
              schedule: Schedule.spaced("50 millis")
            }),
            Effect.timeout("8 seconds")
          )
        assert.deepStrictEqual(new Set(yield* servedBy), new Set(["127.0.0.1"]))
        dns.set(host, { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 })
        yield* until(new Set(["127.0.0.1", "127.0.0.2"]))
        dns.set(host, { a: ["127.0.0.2"], ttl: 1 })
        const after = yield* until(new Set(["127.0.0.2"]))
        assert.deepStrictEqual(new Set(after), new Set(["127.0.0.2"]))
        cli.child.kill("SIGTERM")
        assert.strictEqual(yield* cli.exitCode, 0)
      }),
    30_000
  )
})
