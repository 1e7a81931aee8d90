/**
 * `workers: N` as users run it: `switchyard serve` forks real worker processes sharing the proxy
 * port (SO_REUSEPORT), and each test talks to them over real sockets. Every request goes on a
 * fresh connection, so the kernel spreads them over the workers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { writeFileSync } from "node:fs"
import type { TestBackend } from "../support/Backends.ts"
import { startBackend } from "../support/Backends.ts"
import type { CliProcess } from "../support/Cli.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { h2Request, openSession } from "../support/Http2Client.ts"
import { waitUntil } from "../support/Wait.ts"

interface WorkerEntry {
  readonly id: number
  readonly pid: number
  readonly inFlight: number
  readonly requests: number
  readonly restarts: number
}

interface Status {
  readonly workers: ReadonlyArray<WorkerEntry>
  readonly backends: {
    readonly list: ReadonlyArray<{ readonly name: string; readonly circuit: { readonly state: string } }>
  }
}

const header = (workers: number) =>
  `server: { host: 127.0.0.1, port: 0, gracePeriod: 5s }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
workers: ${workers}
`

const backendsYaml = (backends: ReadonlyArray<TestBackend>) =>
  `backends:\n${backends.map((backend) => `  - { name: ${backend.name}, url: "${backend.url}" }`).join("\n")}\n`

/** A running `serve` with workers: its proxy and admin URLs. */
const serveWith = (text: string) =>
  Effect.gen(function*() {
    const file = writeConfig(text)
    const cli = yield* startCli(["serve", "--config", file])
    yield* cli.waitFor(/proxy listening on \S+ \(\d+ workers\)/)
    const proxy = `http://127.0.0.1:${yield* listeningPort(cli)}`
    const admin = `http://127.0.0.1:${yield* listeningPort(cli, "admin")}`
    return { cli, file, proxy, admin }
  })

const status = (admin: string) =>
  send(admin, { path: "/status" }).pipe(Effect.map((reply): Status => JSON.parse(reply.text)))

const scrape = (admin: string) => send(admin, { path: "/metrics" }).pipe(Effect.map((reply) => reply.text))

/** The sum of a metric's samples whose labels contain `labels`. */
const sampleSum = (text: string, name: string, labels = ""): number =>
  text.split("\n")
    .filter((line) => line.startsWith(name) && line.includes(labels) && !line.startsWith("#"))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

const sendMany = (url: string, count: number, concurrency = 8) =>
  Effect.forEach(Array.from({ length: count }), () => send(url), { concurrency })

/** Polls an effectful condition on real I/O for up to 5 s. */
const eventually = <E>(check: Effect.Effect<boolean, E>) =>
  check.pipe(
    Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("20 millis") }),
    Effect.timeout("5 seconds"),
    Effect.asVoid
  )

const stop = (cli: CliProcess) =>
  Effect.gen(function*() {
    cli.child.kill("SIGTERM")
    return yield* cli.exitCode
  })

describe("workers", () => {
  it.live("every request is counted once in /metrics, and /status lists the workers", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const b = yield* startBackend("b")
      const { admin, cli, proxy } = yield* serveWith(header(3) + backendsYaml([a, b]))
      const replies = yield* sendMany(proxy, 120)
      assert.isTrue(replies.every((reply) => reply.status === 200))
      assert.strictEqual(a.deliveries.length + b.deliveries.length, 120)
      // Outcomes reach the supervisor in batches: wait for the last one, then for nothing more.
      yield* eventually(scrape(admin).pipe(Effect.map((text) => sampleSum(text, "lb_requests_total") >= 120)))
      yield* Effect.sleep("100 millis")
      const text = yield* scrape(admin)
      assert.strictEqual(sampleSum(text, "lb_requests_total"), 120)
      assert.strictEqual(sampleSum(text, "lb_requests_total", `backend="a"`), a.deliveries.length)
      assert.strictEqual(sampleSum(text, "lb_request_duration_seconds_count"), 120)
      const { workers } = yield* status(admin)
      assert.deepStrictEqual(workers.map((worker) => worker.id), [1, 2, 3])
      assert.strictEqual(new Set(workers.map((worker) => worker.pid)).size, 3)
      assert.strictEqual(workers.reduce((sum, worker) => sum + worker.requests, 0), 120)
      // Fresh connections are spread by the kernel: more than one worker served.
      assert.isAtLeast(workers.filter((worker) => worker.requests > 0).length, 2)
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)

  it.live("HTTP/2 (h2c) connections are served by every worker and counted once", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const text = header(2).replace("gracePeriod: 5s }", "gracePeriod: 5s, h2c: true }") + backendsYaml([a])
      const { admin, cli, proxy } = yield* serveWith(text)
      // Each session is one connection, placed by the kernel: enough of them reach both workers.
      const replies = yield* Effect.forEach(Array.from({ length: 12 }), () =>
        Effect.scoped(
          Effect.gen(function*() {
            const session = yield* openSession(proxy)
            return yield* Effect.forEach(Array.from({ length: 5 }), () => h2Request(session, { path: "/h2" }))
          })
        ), { concurrency: 4 })
      assert.isTrue(replies.flat().every((reply) => reply.status === 200))
      yield* eventually(scrape(admin).pipe(Effect.map((metrics) => sampleSum(metrics, "lb_requests_total") >= 60)))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(sampleSum(yield* scrape(admin), "lb_requests_total"), 60)
      const { workers } = yield* status(admin)
      assert.strictEqual(workers.filter((worker) => worker.requests > 0).length, 2)
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)

  it.live("probes each backend once per interval, whatever the number of workers", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const { cli } = yield* serveWith(
        header(3) + backendsYaml([a]) +
          "healthCheck: { path: /health, interval: 200ms, timeout: 150ms }\n"
      )
      const before = a.deliveries.filter((delivery) => delivery.url === "/health").length
      yield* Effect.sleep("2 seconds")
      const probes = a.deliveries.filter((delivery) => delivery.url === "/health").length - before
      // Ten intervals: one prober makes about ten probes; three would make thirty.
      assert.isAtLeast(probes, 7)
      assert.isAtMost(probes, 12)
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)

  it.live(
    "a circuit opened by failures seen in several workers holds in every worker within 100 ms",
    () =>
      Effect.gen(function*() {
        const bad = yield* startBackend("bad", (request, response) => {
          request.resume()
          response.writeHead(500).end()
        })
        const good = yield* startBackend("good")
        const { admin, cli, proxy } = yield* serveWith(
          header(2) + backendsYaml([bad, good]) +
            "circuitBreaker: { failureThreshold: 6, resetTimeout: 1m }\nretry: { attempts: 1 }\n"
        )
        const isOpen = status(admin).pipe(
          Effect.map((doc) => doc.backends.list.find((backend) => backend.name === "bad")?.circuit.state === "open")
        )
        // Sent one at a time so that no more requests are under way than the batch in flight.
        for (let i = 0; i < 40 && !(yield* isOpen); i++) yield* send(proxy)
        yield* eventually(isOpen)
        const { workers } = yield* status(admin)
        assert.isTrue(workers.every((worker) => worker.requests > 0), "both workers saw the failures")
        yield* Effect.sleep("100 millis")
        const badBefore = bad.deliveries.length
        const replies = yield* sendMany(proxy, 40)
        assert.isTrue(replies.every((reply) => reply.status === 200))
        assert.strictEqual(bad.deliveries.length, badBefore, "no worker still sends to the open circuit")
        assert.strictEqual(yield* stop(cli), 0)
      }),
    30_000
  )

  it.live("a worker killed with SIGKILL is restarted, and the others keep serving", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const { admin, cli, proxy } = yield* serveWith(header(2) + backendsYaml([a]))
      const [victim] = (yield* status(admin)).workers
      assert.isDefined(victim)
      process.kill(victim.pid, "SIGKILL")
      yield* cli.waitFor(/worker 1 \(pid \d+\) died \(signal SIGKILL\)/)
      // Until the restart, the kernel sends every connection to the worker still listening.
      const replies = yield* sendMany(proxy, 30, 4)
      assert.isTrue(replies.every((reply) => reply.status === 200))
      yield* eventually(
        status(admin).pipe(
          Effect.map(({ workers }) => workers[0]?.restarts === 1 && workers[0].pid !== victim.pid)
        )
      )
      assert.strictEqual(sampleSum(yield* scrape(admin), "lb_worker_restarts_total"), 1)
      assert.isTrue((yield* sendMany(proxy, 20)).every((reply) => reply.status === 200))
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)

  it.live("SIGTERM lets every worker finish its requests in flight, then exits 0", () =>
    Effect.gen(function*() {
      const slow = yield* startBackend("slow", (request, response) => {
        request.resume()
        setTimeout(() => response.end("slow"), 600)
      })
      const { cli, proxy } = yield* serveWith(header(2) + backendsYaml([slow]))
      const inFlight = yield* Effect.forkChild(sendMany(proxy, 6, 6))
      yield* waitUntil(() => slow.arrivals() === 6)
      cli.child.kill("SIGTERM")
      const replies = yield* Fiber.join(inFlight)
      assert.deepStrictEqual(replies.map((reply) => reply.status), [200, 200, 200, 200, 200, 200])
      assert.strictEqual(yield* cli.exitCode, 0)
      assert.match(cli.stdout(), /all 2 workers drained and stopped/)
    }), 30_000)

  it.live("a reload applies to every worker, without a failed request", () =>
    Effect.gen(function*() {
      const first = yield* startBackend("first")
      const second = yield* startBackend("second")
      const { admin, cli, file, proxy } = yield* serveWith(header(3) + backendsYaml([first]))
      const during = yield* Effect.forkChild(sendMany(proxy, 200, 4))
      writeFileSync(file, header(3) + backendsYaml([second]))
      const reload = yield* send(admin, { method: "POST", path: "/reload" })
      assert.strictEqual(reload.status, 200)
      const replies = yield* Fiber.join(during)
      assert.isTrue(replies.every((reply) => reply.status === 200), "no request failed across the reload")
      const firstBefore = first.deliveries.length
      const after = yield* sendMany(proxy, 30)
      assert.isTrue(after.every((reply) => JSON.parse(reply.text).backend === "second"))
      assert.strictEqual(first.deliveries.length, firstBefore)
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)

  it.live(
    "a worker restarted after a reload runs the reloaded config; a SIGHUP to a worker alone leaves it serving",
    () =>
      Effect.gen(function*() {
        const first = yield* startBackend("first")
        const second = yield* startBackend("second")
        const { admin, cli, file, proxy } = yield* serveWith(header(2) + backendsYaml([first]))
        writeFileSync(file, header(2) + backendsYaml([second]))
        assert.strictEqual((yield* send(admin, { method: "POST", path: "/reload" })).status, 200)
        const [one, two] = (yield* status(admin)).workers
        assert.isDefined(one)
        assert.isDefined(two)
        process.kill(two.pid, "SIGHUP")
        process.kill(one.pid, "SIGKILL")
        yield* eventually(
          status(admin).pipe(
            Effect.map(({ workers }) => workers[0]?.restarts === 1 && workers[0].pid !== one.pid)
          )
        )
        // Until the new worker 1 listens, its connections go to worker 2: send until both have served.
        const firstBefore = first.deliveries.length
        const requestsBefore = (yield* status(admin)).workers[0]?.requests ?? 0
        yield* eventually(Effect.gen(function*() {
          const reply = yield* send(proxy)
          assert.strictEqual(JSON.parse(reply.text).backend, "second")
          return ((yield* status(admin)).workers[0]?.requests ?? 0) > requestsBefore
        }))
        assert.strictEqual(first.deliveries.length, firstBefore, "the restarted worker never used the old backends")
        const after = (yield* status(admin)).workers[1]
        assert.strictEqual(after?.pid, two.pid, "SIGHUP did not end worker 2")
        assert.strictEqual(after?.restarts, 0)
        assert.strictEqual(yield* stop(cli), 0)
      }),
    30_000
  )

  it.live(
    "a backend added and one drained through the admin API hold in every worker, a restarted one too",
    () =>
      Effect.gen(function*() {
        const first = yield* startBackend("first")
        const second = yield* startBackend("second")
        const { admin, cli, proxy } = yield* serveWith(header(2) + backendsYaml([first]))
        const call = (method: string, path: string, body?: unknown) =>
          send(admin, { method, path, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        assert.strictEqual((yield* call("POST", "/backends", { name: "second", url: second.url })).status, 201)
        assert.strictEqual((yield* call("POST", "/backends/first/drain")).status, 200)
        // With first drained, a worker that had not heard of second would have nothing to send to.
        const before = (yield* status(admin)).workers.map((worker) => worker.requests)
        const replies = yield* sendMany(proxy, 40)
        assert.deepStrictEqual([...new Set(replies.map((reply) => JSON.parse(reply.text).backend))], ["second"])
        assert.strictEqual(first.deliveries.length, 0)
        const { workers } = yield* status(admin)
        assert.isTrue(workers.every((worker, i) => worker.requests > (before[i] ?? 0)), "both workers served")

        const victim = workers[0]
        assert.isDefined(victim)
        process.kill(victim.pid, "SIGKILL")
        yield* eventually(
          status(admin).pipe(Effect.map(({ workers }) => workers[0]?.restarts === 1 && workers[0].pid !== victim.pid))
        )
        const requestsBefore = (yield* status(admin)).workers[0]?.requests ?? 0
        yield* eventually(Effect.gen(function*() {
          const reply = yield* send(proxy)
          assert.strictEqual(JSON.parse(reply.text).backend, "second")
          return ((yield* status(admin)).workers[0]?.requests ?? 0) > requestsBefore
        }))
        assert.strictEqual(first.deliveries.length, 0, "the restarted worker knows first is drained")
        assert.strictEqual(yield* stop(cli), 0)
      }),
    30_000
  )

  it.live("a proxy port already taken: one line saying so, and exit 1", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const file = writeConfig(
        header(2).replace("port: 0, gracePeriod", `port: ${a.port}, gracePeriod`) + backendsYaml([a])
      )
      const cli = yield* startCli(["serve", "--config", file])
      assert.strictEqual(yield* cli.exitCode, 1)
      assert.match(
        cli.stderr(),
        new RegExp(`cannot start the proxy listener on 127\\.0\\.0\\.1:${a.port}: .*EADDRINUSE`)
      )
      assert.notMatch(cli.stderr(), /\n\s+at /, "no stack trace for a user's mistake")
    }), 30_000)

  it.live("rateLimit holds per client across workers, not per worker", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const { admin, cli, proxy } = yield* serveWith(
        header(3) + backendsYaml([a]) + "rateLimit: { requestsPerSecond: 2, burst: 10 }\n"
      )
      const started = Date.now()
      const replies = yield* sendMany(proxy, 60, 6)
      const seconds = (Date.now() - started) / 1000
      const admitted = replies.filter((reply) => reply.status === 200).length
      const refused = replies.filter((reply) => reply.status === 429).length
      assert.strictEqual(admitted + refused, 60)
      // One bucket: the burst and what refilled meanwhile, never three buckets' worth.
      assert.isAtMost(admitted, 10 + Math.ceil(2 * seconds) + 1)
      assert.isAtLeast(admitted, 8, "the burst is not split three ways")
      yield* eventually(
        scrape(admin).pipe(
          Effect.map((text) => sampleSum(text, "lb_rate_limited_requests_total") === refused)
        )
      )
      assert.strictEqual(yield* stop(cli), 0)
    }), 30_000)
})
