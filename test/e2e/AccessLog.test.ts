/**
 * Access logs as an operator sees them: one JSON object per request on the proxy's stdout.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { connect } from "node:net"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

const config = (backendUrl: string, access: boolean, more = "") =>
  writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: api, url: "${backendUrl}" }]
logging: { format: json, access: ${access} }
${more}`)

/**
 * `perConnection` GETs of `path` pipelined on each of `connections` fresh connections (a load no
 * single-request client makes fast enough); resolves once every response's status line is in.
 */
const statusLine = "HTTP/1.1 200"

const burst = (port: number, connections: number, perConnection: number, path: string) =>
  Effect.promise(() =>
    Promise.all(Array.from({ length: connections }, () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1")
        let seen = 0
        let tail = ""
        socket.on("data", (chunk: Buffer) => {
          const text = tail + chunk.toString("latin1")
          seen += text.split(statusLine).length - 1
          // Shorter than a status line: a match is never counted twice, nor one split between reads missed.
          tail = text.slice(1 - statusLine.length)
          if (seen === perConnection) socket.end(resolve)
        })
        socket.on("error", reject)
        socket.write(`GET ${path} HTTP/1.1\r\nhost: burst\r\n\r\n`.repeat(perConnection))
      })))
  )

/** Request lines, counted without parsing them (a burst's output is megabytes). */
const requestLineCount = (stdout: string) => stdout.split(`"message":"request"`).length - 1

/** The `N` of each `access log: N records dropped` warning, summed. */
const droppedRecords = (stdout: string) =>
  [...stdout.matchAll(/access log: (\d+) records dropped/g)].reduce((sum, match) => sum + Number(match[1]), 0)

const accessLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).filter((entry) =>
    entry.message === "request"
  )

describe("access log", () => {
  it.live("writes one flat JSON line per request with its facts", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, true)])
      const port = yield* listeningPort(cli)
      yield* send(`http://127.0.0.1:${port}`, { path: "/orders?page=2", headers: { "x-request-id": "trace-me" } })
      yield* send(`http://127.0.0.1:${port}`, { method: "POST", path: "/orders", body: "{}" })
      yield* waitUntil(() => accessLines(cli.stdout()).length === 2)
      const [first, second] = accessLines(cli.stdout())
      assert.deepInclude(first, {
        requestId: "trace-me",
        client: "127.0.0.1",
        method: "GET",
        path: "/orders?page=2",
        status: 200,
        backend: "api",
        retries: 0
      })
      assert.isAbove(first.bytes, 0)
      assert.isAtLeast(first.durationMs, 0)
      assert.match(first.time, /^\d{4}-\d\d-\d\dT/)
      assert.strictEqual(first.level, "INFO")
      assert.deepInclude(second, { method: "POST", status: 200 })
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))

  it.live("logging.access: false writes none", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, false)])
      const port = yield* listeningPort(cli)
      for (let i = 0; i < 3; i++) yield* send(`http://127.0.0.1:${port}`)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
      assert.deepStrictEqual(accessLines(cli.stdout()), [])
    }))

  it.live("a burst through two workers sharing stdout: every line whole, one per request", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, true, "workers: 2\n")])
      const port = yield* listeningPort(cli)
      // Lines of about 400 bytes: several 64 KiB batches per worker, cut into writes of 4 KiB.
      const path = `/burst/${"x".repeat(200)}`
      yield* burst(port, 8, 250, path)
      yield* waitUntil(() => requestLineCount(cli.stdout()) >= 2000)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
      const lines = cli.stdout().split("\n").filter((line) => line.includes(`"message":"request"`))
      const entries = lines.map((line) => JSON.parse(line))
      assert.strictEqual(entries.length, 2000)
      assert.isTrue(entries.every((entry) => entry.path === path && entry.status === 200))
      assert.strictEqual(new Set(entries.map((entry) => entry.requestId)).size, 2000)
    }))

  it.live("a stdout nobody reads: records are dropped and counted, requests still answered", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const cli = yield* startCli(["serve", "--config", config(backend.url, true)])
      const port = yield* listeningPort(cli)
      cli.child.stdout?.pause()
      // About 6 MB of lines, more than the 4 MiB the log holds back.
      const requests = 8 * 1_800
      yield* burst(port, 8, 1_800, `/unread/${"x".repeat(200)}`)
      cli.child.stdout?.resume()
      yield* waitUntil(() => droppedRecords(cli.stdout()) > 0)
      yield* waitUntil(() => requestLineCount(cli.stdout()) + droppedRecords(cli.stdout()) === requests)
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
      assert.strictEqual(accessLines(cli.stdout()).length + droppedRecords(cli.stdout()), requests)
    }))
})
