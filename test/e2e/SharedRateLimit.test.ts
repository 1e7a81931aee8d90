/**
 * `rateLimit.store` as users run it: several Switchyard instances on one real redis-server hold
 * each client to one limit between them, and when Redis goes away (killed, stuck) every request
 * follows `onError` within the timeout, counted, until Redis is back.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { getCACertificates, setDefaultCACertificates } from "node:tls"
import type { TestBackend } from "../support/Backends.ts"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import type { RunningProxy } from "../support/Proxy.ts"
import type { RunningRedis } from "../support/Redis.ts"
import { startRedis, startRedisWith } from "../support/Redis.ts"

// The TLS test's Redis has the fixture's localhost certificate: trusted here, where the proxies run.
const defaultCAs = getCACertificates("default")
const fixtureCA = readFileSync(new URL("../fixtures/tls/cert.pem", import.meta.url), "utf8")
beforeAll(() => setDefaultCACertificates([...defaultCAs, fixtureCA]))
afterAll(() => setDefaultCACertificates(defaultCAs))

const limited = (
  backend: TestBackend,
  redis: Pick<RunningRedis, "url">,
  limit: {
    readonly requestsPerSecond: number
    readonly burst: number
    readonly onError?: "allow" | "deny"
    readonly timeout?: string
  }
) =>
  startProxy({
    backends: [{ url: backend.url }],
    rateLimit: {
      requestsPerSecond: limit.requestsPerSecond,
      burst: limit.burst,
      // 1 s unless the test is about the timeout: on a loaded machine a round trip to a Redis
      // that is up can take longer than the default 50 ms.
      store: {
        redis: redis.url,
        timeout: limit.timeout ?? "1s",
        ...(limit.onError === undefined ? {} : { onError: limit.onError })
      }
    }
  })

/** A request from `client` (a 127.0.0.x address), its status and how long it took. */
const from = (proxy: RunningProxy, client: number) =>
  Effect.gen(function*() {
    const started = performance.now()
    const reply = yield* send(proxy.url, { localAddress: `127.0.0.${client}` })
    return { status: reply.status, retryAfter: reply.headers["retry-after"], ms: performance.now() - started }
  })

const statuses = (proxy: RunningProxy, client: number, count: number) =>
  Effect.forEach(Array.from({ length: count }), () => from(proxy, client).pipe(Effect.map((reply) => reply.status)))

/** The value of an unlabelled counter in the Prometheus text. */
const counter = (text: string, name: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1))
}

const scrape = (url: string) => send(url, { path: "/metrics" }).pipe(Effect.map((reply) => reply.text))

/** Until `proxy` asks Redis again: a request of a fresh client that is not counted as a store error. */
const reconnected = (proxy: RunningProxy) =>
  Effect.gen(function*() {
    let client = 100
    for (let tries = 0; tries < 100; tries++) {
      const before = counter(yield* scrape(proxy.adminUrl), "lb_rate_limit_store_errors_total")
      yield* from(proxy, client++)
      if (counter(yield* scrape(proxy.adminUrl), "lb_rate_limit_store_errors_total") === before) return
      yield* Effect.sleep("50 millis")
    }
    return assert.fail("the proxy did not reconnect to Redis")
  })

describe("rate limits shared on Redis", () => {
  it.live("two instances hold a client to one burst between them, not one each", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const backend = yield* startBackend("a")
      const one = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 4 })
      const two = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 4 })
      const first = yield* statuses(one, 2, 3)
      const second = yield* statuses(two, 2, 3)
      assert.deepStrictEqual([...first, ...second], [200, 200, 200, 200, 429, 429])
      const refused = yield* from(one, 2)
      assert.deepStrictEqual([refused.status, refused.retryAfter], [429, "2"])
      assert.deepStrictEqual(yield* statuses(two, 3, 4), [200, 200, 200, 200], "another client has its own bucket")
      assert.strictEqual(backend.deliveries.length, 8)
      const metrics = [yield* scrape(one.adminUrl), yield* scrape(two.adminUrl)]
      assert.deepStrictEqual(metrics.map((text) => counter(text, "lb_rate_limited_requests_total")), [1, 2])
      assert.deepStrictEqual(metrics.map((text) => counter(text, "lb_rate_limit_store_errors_total")), [0, 0])
    }))

  it.live(
    "Redis killed: requests are served (onError allow), counted, held to each instance's own bucket; restarted: shared again",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedis
        const backend = yield* startBackend("a")
        const one = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 3 })
        const two = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 3 })
        assert.deepStrictEqual(yield* statuses(one, 2, 1), [200])
        yield* redis.kill
        const down = yield* Effect.forEach(Array.from({ length: 4 }), () => from(two, 2))
        assert.deepStrictEqual(down.map((reply) => reply.status), [200, 200, 200, 429], "two's own bucket: 3")
        for (const reply of down) assert.isBelow(reply.ms, 500, "at once, not after the 1 s timeout")
        assert.strictEqual(counter(yield* scrape(two.adminUrl), "lb_rate_limit_store_errors_total"), 3)

        yield* redis.restart
        yield* reconnected(one)
        yield* reconnected(two)
        // A fresh Redis has forgotten every bucket; from here the two share one again.
        assert.deepStrictEqual(yield* statuses(one, 5, 2), [200, 200])
        assert.deepStrictEqual(yield* statuses(two, 5, 2), [200, 429])
      }),
    30_000
  )

  it.live("Redis killed with onError deny: 429 with Retry-After at once, counted", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const backend = yield* startBackend("a")
      const proxy = yield* limited(backend, redis, { requestsPerSecond: 10, burst: 10, onError: "deny" })
      assert.deepStrictEqual(yield* statuses(proxy, 2, 2), [200, 200])
      yield* redis.kill
      const refused = yield* from(proxy, 2)
      assert.deepStrictEqual([refused.status, refused.retryAfter], [429, "1"])
      assert.isBelow(refused.ms, 500, "at once, not after the 1 s timeout")
      const metrics = yield* scrape(proxy.adminUrl)
      assert.strictEqual(counter(metrics, "lb_rate_limit_store_errors_total"), 1)
      assert.strictEqual(counter(metrics, "lb_rate_limited_requests_total"), 1)
    }))

  it.live("Redis stuck (stopped, its connection open): each request waits the timeout, no longer, then onError", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const backend = yield* startBackend("a")
      const proxy = yield* limited(backend, redis, { requestsPerSecond: 100, burst: 100, timeout: "50ms" })
      assert.deepStrictEqual(yield* statuses(proxy, 2, 1), [200])
      yield* redis.pause
      const stuck = yield* Effect.forEach(Array.from({ length: 10 }), () => from(proxy, 2), { concurrency: 5 })
      for (const reply of stuck) {
        assert.strictEqual(reply.status, 200)
        assert.isAtLeast(reply.ms, 45)
        assert.isBelow(reply.ms, 50 + 500, "the timeout and some slack for a loaded machine")
      }
      assert.strictEqual(counter(yield* scrape(proxy.adminUrl), "lb_rate_limit_store_errors_total"), 10)
      yield* redis.resume
      yield* reconnected(proxy)
    }))

  it.live("a Redis with a password: the password in the URL shares the limit; a wrong one follows onError, counted", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisWith({ password: "s3cret" })
      const backend = yield* startBackend("a")
      const authed = { url: redis.url.replace("redis://", "redis://:s3cret@") }
      const one = yield* limited(backend, authed, { requestsPerSecond: 0.5, burst: 2 })
      const two = yield* limited(backend, authed, { requestsPerSecond: 0.5, burst: 2 })
      assert.deepStrictEqual([...yield* statuses(one, 2, 1), ...yield* statuses(two, 2, 2)], [200, 200, 429])
      const wrong = yield* limited(backend, { url: redis.url.replace("redis://", "redis://:wrong@") }, {
        requestsPerSecond: 10,
        burst: 10,
        onError: "deny"
      })
      const refused = yield* from(wrong, 3)
      assert.strictEqual(refused.status, 429)
      assert.isBelow(refused.ms, 500, "at once, not after the 1 s timeout")
      assert.strictEqual(counter(yield* scrape(wrong.adminUrl), "lb_rate_limit_store_errors_total"), 1)
    }))

  it.live("over TLS (rediss://, the certificate checked): two instances share one limit", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisWith({ tls: true })
      const backend = yield* startBackend("a")
      const one = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 2 })
      const two = yield* limited(backend, redis, { requestsPerSecond: 0.5, burst: 2 })
      assert.deepStrictEqual([...yield* statuses(one, 2, 1), ...yield* statuses(two, 2, 2)], [200, 200, 429])
      assert.strictEqual(counter(yield* scrape(two.adminUrl), "lb_rate_limit_store_errors_total"), 0)
    }))

  it.live(
    "workers: 2 ask Redis directly; the supervisor sums both workers' refusals and store errors",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedis
        const backend = yield* startBackend("a")
        const file = writeConfig(`server: { host: 127.0.0.1, port: 0, gracePeriod: 5s }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
workers: 2
backends: [{ url: "${backend.url}" }]
rateLimit: { requestsPerSecond: 0.1, burst: 6, store: { redis: "${redis.url}", timeout: 1s } }
`)
        const cli = yield* startCli(["serve", "--config", file])
        yield* cli.waitFor(/proxy listening on \S+ \(2 workers\)/)
        const proxy = `http://127.0.0.1:${yield* listeningPort(cli)}`
        const admin = `http://127.0.0.1:${yield* listeningPort(cli, "admin")}`
        // Each request on a fresh connection: the kernel spreads them over both workers.
        const replies = yield* Effect.forEach(Array.from({ length: 20 }), () => send(proxy), { concurrency: 4 })
        const admitted = replies.filter((reply) => reply.status === 200).length
        assert.strictEqual(admitted, 6, "one burst for both workers")
        yield* redis.kill
        // Another client: its bucket in each worker is full, so these pass on onError allow.
        const down = yield* Effect.forEach(
          Array.from({ length: 4 }),
          () => send(proxy, { localAddress: "127.0.0.3" }),
          { concurrency: 2 }
        )
        assert.deepStrictEqual(down.map((reply) => reply.status), [200, 200, 200, 200])
        yield* Effect.gen(function*() {
          for (let tries = 0; tries < 100; tries++) {
            const text = yield* scrape(admin)
            const storeErrors = counter(text, "lb_rate_limit_store_errors_total")
            const refused = counter(text, "lb_rate_limited_requests_total")
            const workers: ReadonlyArray<{ readonly requests: number }> =
              JSON.parse((yield* send(admin, { path: "/status" })).text).workers
            const both = workers.length === 2 && workers.every((worker) => worker.requests > 0)
            if (refused === 14 && storeErrors === 4 && both) return
            yield* Effect.sleep("20 millis")
          }
          return assert.fail(`the supervisor's sums did not add up:\n${yield* scrape(admin)}`)
        })
        cli.child.kill("SIGTERM")
        assert.strictEqual(yield* cli.exitCode, 0)
      }),
    30_000
  )
})
