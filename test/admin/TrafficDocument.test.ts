/**
 * What `/metrics?format=json` and `/status` say about each backend's recent traffic (responses
 * by status class, p50 and p99 from the duration histogram), the pools and the routes: the real
 * proxy and real backends on loopback, one process, then `serve` with two worker processes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { startBackend } from "../support/Backends.ts"
import type { Handler, TestBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

const answers = (status: number, delayMs = 0): Handler => (request, response) => {
  request.resume()
  request.on("end", () =>
    setTimeout(() => {
      response.writeHead(status)
      response.end()
    }, delayMs))
}

interface Recent {
  readonly windowSeconds: number
  readonly responses: Record<string, number>
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

interface Document {
  readonly pools: ReadonlyArray<unknown>
  readonly routes: ReadonlyArray<unknown>
  readonly backends: { readonly list: ReadonlyArray<{ readonly name: string; readonly recent: Recent | null }> }
  readonly history?: {
    readonly samples: ReadonlyArray<{ readonly backends: Record<string, { readonly responses: object }> }>
  }
}

const fetchDocument = (admin: string, path: string) =>
  send(admin, { path }).pipe(Effect.map((reply): Document => JSON.parse(reply.text)))

const recentOf = (document: Document, name: string): Recent | null =>
  document.backends.list.find((backend) => backend.name === name)?.recent ?? null

const total = (recent: Recent | null) => Object.values(recent?.responses ?? {}).reduce((sum, n) => sum + n, 0)

/** Polls `path` until `ready` holds: a history sample taken after the traffic (at most 5 s). */
const documentWhen = (admin: string, path: string, ready: (document: Document) => boolean) =>
  fetchDocument(admin, path).pipe(
    Effect.repeat({ until: ready, schedule: Schedule.spaced("50 millis") }),
    Effect.timeout("5 seconds")
  )

const sendMany = (url: string, path: string, count: number) =>
  Effect.forEach(Array.from({ length: count }), () => send(url, { path }), { concurrency: 5 })

/** No retries and no circuit opening: every request reaches the backend its route names. */
const exact = { retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 1000 } }

const none = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }

describe("the JSON documents: recent traffic, pools and routes", () => {
  it.live("counts each backend's responses by class and puts the slow one's p99 above the fast one's", () =>
    Effect.gen(function*() {
      const fast = yield* startBackend("fast", answers(200))
      const slow = yield* startBackend("slow", answers(200, 80))
      const broken = yield* startBackend("broken", answers(500))
      const proxy = yield* startProxy({
        ...exact,
        metrics: { historyInterval: "100ms" },
        backends: [{ name: "fast", url: fast.url }],
        pools: {
          slow: { backends: [{ name: "slow", url: slow.url }] },
          broken: { strategy: "least-connections", backends: [{ name: "broken", url: broken.url }] }
        },
        routes: [
          { match: { pathPrefix: "/slow" }, pool: "slow" },
          { match: { host: "errors.example", pathPrefix: "/broken" }, pool: "broken" },
          { match: { pathPrefix: "/broken" }, pool: "broken" }
        ]
      })
      yield* sendMany(proxy.url, "/", 20)
      yield* sendMany(proxy.url, "/broken/x", 10)
      yield* sendMany(proxy.url, "/slow", 10)

      const document = yield* documentWhen(
        proxy.adminUrl,
        "/metrics?format=json",
        (doc) => total(recentOf(doc, "fast")) + total(recentOf(doc, "broken")) + total(recentOf(doc, "slow")) === 40
      )
      assert.deepStrictEqual(recentOf(document, "fast")?.responses, { ...none, "2xx": 20 })
      assert.deepStrictEqual(recentOf(document, "broken")?.responses, { ...none, "5xx": 10 })
      assert.deepStrictEqual(recentOf(document, "slow")?.responses, { ...none, "2xx": 10 })
      const fastP99 = recentOf(document, "fast")?.p99Ms ?? Number.NaN
      const slowP50 = recentOf(document, "slow")?.p50Ms ?? Number.NaN
      const slowP99 = recentOf(document, "slow")?.p99Ms ?? Number.NaN
      // 80 ms answers land in the (50 ms, 100 ms] bucket, or above it on a busy machine.
      assert.isAtLeast(slowP50, 50)
      assert.isAtMost(slowP50, slowP99)
      assert.isBelow(fastP99, slowP99)
      assert.isAbove(recentOf(document, "fast")?.windowSeconds ?? 0, 0)

      assert.deepStrictEqual(document.pools, [
        { name: "default", strategy: "round-robin", backends: ["fast"], available: 1 },
        { name: "slow", strategy: "round-robin", backends: ["slow"], available: 1 },
        { name: "broken", strategy: "least-connections", backends: ["broken"], available: 1 }
      ])
      assert.deepStrictEqual(document.routes, [
        { host: null, pathPrefix: "/slow", pool: "slow" },
        { host: "errors.example", pathPrefix: "/broken", pool: "broken" },
        { host: null, pathPrefix: "/broken", pool: "broken" }
      ])
      // The samples carry the counts since start-up the window was taken from, not the buckets.
      const newest = document.history?.samples.at(-1)
      assert.deepStrictEqual(newest?.backends["broken"]?.responses, { ...none, "5xx": 10 })
      assert.notProperty(newest ?? {}, "latencyBuckets")

      const status = yield* fetchDocument(proxy.adminUrl, "/status")
      assert.deepStrictEqual([status.pools, status.routes], [document.pools, document.routes])
      assert.deepStrictEqual(recentOf(status, "broken")?.responses, { ...none, "5xx": 10 })
    }))

  it.live(
    "with workers, counts every worker's requests once, from the supervisor's sums",
    () =>
      Effect.gen(function*() {
        const backends: ReadonlyArray<TestBackend> = [
          yield* startBackend("ok", answers(200)),
          yield* startBackend("missing", answers(404))
        ]
        const file = writeConfig(
          `server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
workers: 2
metrics: { historyInterval: 100ms }
retry: { attempts: 1 }
backends:
${backends.map((backend) => `  - { name: ${backend.name}, url: "${backend.url}" }`).join("\n")}
`
        )
        const cli = yield* startCli(["serve", "--config", file])
        const proxy = `http://127.0.0.1:${yield* listeningPort(cli)}`
        const admin = `http://127.0.0.1:${yield* listeningPort(cli, "admin")}`
        yield* cli.waitFor(/proxy listening on \S+ \(2 workers\)/)
        yield* sendMany(proxy, "/", 40)
        const delivered = (name: string) => backends.find((backend) => backend.name === name)?.deliveries.length ?? 0

        const document = yield* documentWhen(
          admin,
          "/metrics?format=json",
          (doc) => total(recentOf(doc, "ok")) + total(recentOf(doc, "missing")) === 40
        )
        assert.deepStrictEqual(recentOf(document, "ok")?.responses, { ...none, "2xx": delivered("ok") })
        assert.deepStrictEqual(recentOf(document, "missing")?.responses, { ...none, "4xx": delivered("missing") })
        assert.isNotNull(recentOf(document, "ok")?.p99Ms)
        cli.child.kill("SIGTERM")
        assert.strictEqual(yield* cli.exitCode, 0)
      }),
    30_000
  )
})
