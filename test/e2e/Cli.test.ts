/**
 * The `switchyard` command as users and operators run it: a real process, real files, real
 * signals and exit codes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, mainJs, runCli, startCli, startProcess, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"
import { waitUntil } from "../support/Wait.ts"

const packageVersion: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version

/** True when something can bind the port: nothing holds it. */
const portIsFree = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const probe = createServer()
    probe.once("error", () => resume(Effect.succeed(false)))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resume(Effect.succeed(true))))
  })

const freePort = Effect.callback<number>((resume) => {
  const probe = createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})

const serveConfig = (backendUrl: string, extra = "") =>
  writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends:
  - url: ${backendUrl}
${extra}`)

describe("switchyard CLI", () => {
  it.live("--version prints the package version and --help lists the commands", () =>
    Effect.gen(function*() {
      const version = yield* runCli(["--version"])
      assert.strictEqual(version.code, 0)
      assert.include(version.stdout, packageVersion)
      const help = yield* runCli(["--help"])
      assert.strictEqual(help.code, 0)
      for (const command of ["serve", "check", "demo"]) assert.include(help.stdout, command)
    }))

  it.live("check prints the normalised config and exits 0", () =>
    Effect.gen(function*() {
      const file = writeConfig("backends:\n  - url: http://127.0.0.1:9001\ntimeouts: { connect: 1500ms }\n")
      const result = yield* runCli(["check", "--config", file])
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(result.stdout, "maxBodySize: 10MiB")
      assert.include(result.stdout, "connect: 1500ms")
      assert.include(result.stdout, "name: 127.0.0.1:9001")
      assert.include(result.stderr, "ok")
    }))

  it.live("check names the file, line, column, field and expectation of every problem, and exits 1", () =>
    Effect.gen(function*() {
      const file = writeConfig("server:\n  port: -1\nbackends:\n  - url: http://a:1\n    weight: many\n")
      const result = yield* runCli(["check", "--config", file])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `${file}:2:9: server.port: Expected a value between 0 and 65535, got -1`)
      assert.include(result.stderr, `${file}:5:13: backends[0].weight: Expected number, got "many"`)
      assert.strictEqual(result.stdout, "")
    }))

  it.live("serve with a bad config exits 1 before binding any port", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const file = writeConfig(`server: { port: ${port} }\nbackends:\n  - url: http://a:1\n    weigth: 2\n`)
      const cli = yield* startCli(["serve", "--config", file])
      const watcher = yield* Effect.forkChild(Effect.repeat(portIsFree(port), { until: (free) => !free }))
      const code = yield* cli.exitCode
      assert.strictEqual(code, 1)
      assert.include(cli.stderr(), `backends[0].weigth: Unknown key`)
      assert.notInclude(cli.stdout(), "listening")
      assert.isUndefined(watcher.pollUnsafe(), "the port was bound at some point")
      yield* Fiber.interrupt(watcher)
    }))

  it.live("serve exits 1 naming an invalid LB_PORT", () =>
    Effect.gen(function*() {
      const file = writeConfig("backends: [{ url: 'http://a:1' }]\n")
      const result = yield* runCli(["serve", "--config", file], { LB_PORT: "eighty" })
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `LB_PORT (environment): server.port: Expected number, got "eighty"`)
    }))

  it.live("serve exits 1 when its config file cannot be read", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["serve", "--config", "/nonexistent/switchyard.yaml"])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, "/nonexistent/switchyard.yaml: cannot read the file")
    }))

  it.live("serve exits 1 when its port is taken", () =>
    Effect.gen(function*() {
      const holder = createServer()
      const port = yield* Effect.callback<number>((resume) => {
        holder.listen(0, "127.0.0.1", () => {
          const address = holder.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => holder.close()))
      const file = writeConfig(
        `server: { host: 127.0.0.1, port: ${port} }\nadmin: { port: 0 }\nbackends: [{ url: 'http://a:1' }]\n`
      )
      const result = yield* runCli(["serve", "--config", file])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `cannot start the proxy listener on 127.0.0.1:${port}`)
    }))

  it.live("SIGTERM during a 1-second request lets it complete, refuses new connections, exits 0", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("slow", (request, response) => {
        request.resume()
        setTimeout(() => response.end("finished after a second"), 1_000)
      })
      const cli = yield* startCli(["serve", "--config", serveConfig(backend.url)])
      const port = yield* listeningPort(cli)
      const inFlight = yield* Effect.forkChild(send(`http://127.0.0.1:${port}`, { path: "/slow" }))
      yield* waitUntil(() => backend.arrivals() === 1)
      cli.child.kill("SIGTERM")
      yield* waitUntil(() => cli.stdout().includes("draining"))
      const refused = yield* send(`http://127.0.0.1:${port}`).pipe(Effect.flip)
      assert.include(refused.message, "ECONNREFUSED")
      const reply = yield* Fiber.join(inFlight)
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.text, "finished after a second")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))

  it.live("SIGINT stops an idle proxy at once with exit code 0", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const cli = yield* startCli(["serve", "--config", serveConfig(backend.url)])
      yield* listeningPort(cli)
      cli.child.kill("SIGINT")
      assert.strictEqual(yield* cli.exitCode, 0)
      assert.include(cli.stdout(), "proxy listener closed")
    }))

  it.live("demo starts three backends, the proxy and the admin API, and spreads requests", () =>
    Effect.gen(function*() {
      const cli = yield* startCli(["demo"], { LB_PORT: "0", LB_ADMIN_PORT: "0" })
      const proxyPort = Number((yield* cli.waitFor(/proxy +http:\/\/127\.0\.0\.1:(\d+)\//))[1])
      const adminPort = Number((yield* cli.waitFor(/dashboard +http:\/\/127\.0\.0\.1:(\d+)\//))[1])
      yield* cli.waitFor(new RegExp(`status +http://127\\.0\\.0\\.1:${adminPort}/status`))
      const seen = new Set<string>()
      for (let i = 0; i < 3; i++) {
        const reply = yield* send(`http://127.0.0.1:${proxyPort}`, { path: `/hello/${i}` })
        seen.add(String(JSON.parse(reply.text).backend))
      }
      assert.deepStrictEqual([...seen].sort(), ["demo-fast", "demo-medium", "demo-slow"])
      const health = yield* send(`http://127.0.0.1:${adminPort}`, { path: "/health" })
      assert.strictEqual(health.status, 200)
      const dashboard = yield* send(`http://127.0.0.1:${adminPort}`, { path: "/" })
      assert.include(dashboard.text, "<title>")
      cli.child.kill("SIGINT")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))
})

/** A PID namespace of its own, as a container has: only where `unshare` may make one (root). */
const canUnshare = spawnSync("unshare", ["--pid", "--fork", "--kill-child", "true"]).status === 0

/** The pid inside its own namespace of the process that is `pid` here (`NSpid`'s last field). */
const innermostPid = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^NSpid:\s+(.*)$/m)?.[1]?.split(/\s+/).at(-1))

describe("switchyard signals, as people run it", () => {
  it.live("npm start: SIGINT or SIGTERM to npm's own pid reaches the demo, which stops; npm exits 0", () =>
    Effect.gen(function*() {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const npm = yield* startProcess(
          ["npm", "start"],
          { LB_PORT: "0", LB_ADMIN_PORT: "0" },
          new URL("../../", import.meta.url).pathname
        )
        const port = Number((yield* npm.waitFor(/proxy +http:\/\/127\.0\.0\.1:(\d+)\//))[1])
        npm.child.kill(signal)
        assert.strictEqual(yield* npm.exitCode, 0, signal)
        assert.isTrue(yield* portIsFree(port), `the demo still serves after ${signal} to npm`)
      }
    }))

  it.live.skipIf(!canUnshare)(
    "as PID 1 of its own namespace, as in a container: SIGHUP reloads, SIGTERM drains and exits 0 (needs unshare)",
    () =>
      Effect.gen(function*() {
        const first = yield* startBackend("first")
        const second = yield* startBackend("second")
        const file = serveConfig(first.url)
        const container = yield* startProcess([
          "unshare",
          "--pid",
          "--fork",
          "--kill-child",
          process.execPath,
          mainJs,
          "serve",
          "--config",
          file
        ])
        const port = yield* listeningPort(container)
        const proxyPid = Number(readFileSync(`/proc/${container.pid}/task/${container.pid}/children`, "utf8").trim())
        assert.strictEqual(innermostPid(proxyPid), 1)
        writeFileSync(file, readFileSync(file, "utf8").replace(first.url, second.url))
        process.kill(proxyPid, "SIGHUP")
        yield* container.waitFor(/config reloaded: 1 added, 0 updated, 1 removed/)
        assert.strictEqual(JSON.parse((yield* send(`http://127.0.0.1:${port}`)).text).backend, "second")
        process.kill(proxyPid, "SIGTERM")
        assert.strictEqual(yield* container.exitCode, 0)
        assert.include(container.stdout(), "proxy listener closed")
      })
  )
})
