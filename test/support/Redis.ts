/**
 * A real `redis-server` (Debian's package) for the tests, on a free loopback port, keeping
 * nothing on disk (`--save ''`, `--appendonly no`, its own temporary directory). It can be killed
 * and started again on the same port, or paused (SIGSTOP: the connection stays open and nothing
 * answers, as with a Redis stuck or far away); it is stopped when the scope closes.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface RunningRedis {
  readonly port: number
  readonly url: string
  /** SIGKILL: connections are reset, and the data is gone. */
  readonly kill: Effect.Effect<void>
  /** A new redis-server on the same port (after `kill`). */
  readonly restart: Effect.Effect<void, Error>
  /** SIGSTOP / SIGCONT. */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
}

const freePort = Effect.callback<number, Error>((resume) => {
  const server = createServer()
  server.once("error", (error) => resume(Effect.fail(error)))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

interface RedisOptions {
  readonly password?: string
  /** Only TLS connections (`rediss://`), with the localhost certificate of `test/fixtures/tls`. */
  readonly tls?: boolean
}

const tlsFixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname

const listenArgs = (port: number, options: RedisOptions): ReadonlyArray<string> =>
  options.tls === true
    ? [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-auth-clients",
      "no",
      "--tls-cert-file",
      tlsFixture("cert.pem"),
      "--tls-key-file",
      tlsFixture("key.pem")
    ]
    : ["--port", String(port)]

/** Loopback only, nothing saved to disk, its working directory `dir`. */
const keepingNothing = (
  dir: string
): ReadonlyArray<string> => ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]

const launch = (port: number, dir: string, options: RedisOptions) =>
  Effect.callback<ChildProcess, Error>((resume) => {
    const child = spawn(
      "redis-server",
      [
        ...listenArgs(port, options),
        ...keepingNothing(dir),
        ...(options.password === undefined ? [] : ["--requirepass", options.password])
      ],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData)
        // Keep draining: a full pipe would stop the server.
        child.stdout?.resume()
        resume(Effect.succeed(child))
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("error", (error) => resume(Effect.fail(error)))
    child.once(
      "exit",
      (code) => resume(Effect.fail(new Error(`redis-server exited (${code}) before ready:\n${output}`)))
    )
  }).pipe(Effect.timeout("10 seconds"))

const exited = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

/** With `password`, Redis refuses every command until `AUTH` with it (`requirepass`); `url` has no password in it. */
export const startRedisWith = (
  options: RedisOptions
): Effect.Effect<RunningRedis, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* freePort
    const dir = mkdtempSync(join(tmpdir(), "switchyard-redis-"))
    let child = yield* launch(port, dir, options)
    const signal = (name: NodeJS.Signals) => Effect.sync(() => child.kill(name))
    const kill = Effect.gen(function*() {
      yield* signal("SIGKILL")
      yield* exited(child)
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* signal("SIGCONT")
        yield* kill
        rmSync(dir, { recursive: true, force: true })
      })
    )
    return {
      port,
      url: options.tls === true ? `rediss://localhost:${port}/0` : `redis://127.0.0.1:${port}/0`,
      kill,
      restart: Effect.gen(function*() {
        child = yield* launch(port, dir, options)
      }),
      pause: Effect.asVoid(signal("SIGSTOP")),
      resume: Effect.asVoid(signal("SIGCONT"))
    }
  })

export const startRedis: Effect.Effect<RunningRedis, Error, Scope.Scope> = startRedisWith({})
