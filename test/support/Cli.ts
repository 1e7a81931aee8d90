/**
 * Runs the built `switchyard` executable (the bundle the bin points to, dist/bundle/switchyard.js) as a user would: a child process with its own
 * environment, its output collected, signals sent for real.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const mainJs = new URL("../../dist/bundle/switchyard.js", import.meta.url).pathname

export interface CliProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the first match of `pattern` in stdout+stderr, waiting for more output. */
  readonly waitFor: (pattern: RegExp) => Effect.Effect<RegExpMatchArray, Error>
  readonly exitCode: Effect.Effect<number | null>
}

export const writeConfig = (text: string, name = "config.yaml"): string => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-test-"))
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/**
 * Starts the CLI; the process is killed when the scope closes if it is still running. `script`
 * runs another copy of the executable (an installed package's), from `cwd`.
 */
export const startCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  options: { readonly script?: string; readonly cwd?: string } = {}
): Effect.Effect<CliProcess, never, Scope.Scope> =>
  startProcess([process.execPath, options.script ?? mainJs, ...args], env, options.cwd)

/** Starts `argv` as `startCli` starts the CLI: for the other ways people run it (`npm start`, ...). */
export const startProcess = (
  argv: readonly [string, ...ReadonlyArray<string>],
  env: Record<string, string> = {},
  cwd?: string
): Effect.Effect<CliProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const [command, ...args] = argv
      const child = spawn(command, args, {
        ...(cwd === undefined ? {} : { cwd }),
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      const listeners = new Set<() => void>()
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        listeners.forEach((listener) => listener())
      })
      child.stderr?.on("data", (chunk: Buffer) => {
        err += chunk.toString()
        listeners.forEach((listener) => listener())
      })
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      const waitFor = (pattern: RegExp) =>
        Effect.callback<RegExpMatchArray, Error>((resume) => {
          const check = () => {
            const match = (out + err).match(pattern)
            if (match !== null) {
              listeners.delete(check)
              resume(Effect.succeed(match))
            }
          }
          listeners.add(check)
          check()
          void exited.then(() => {
            if (listeners.delete(check)) {
              resume(Effect.fail(new Error(`exited before ${pattern}:\n${out}\n${err}`)))
            }
          })
          return Effect.sync(() => listeners.delete(check))
        }).pipe(Effect.timeout("15 seconds"))
      return {
        child,
        pid: child.pid ?? 0,
        stdout: () => out,
        stderr: () => err,
        waitFor,
        exitCode: Effect.promise(() => exited)
      }
    }),
    (cli) =>
      Effect.sync(() => {
        if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGKILL")
      })
  )

/** Runs the CLI to completion. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const cli = yield* startCli(args, env)
    const code = yield* cli.exitCode
    return { code, stdout: cli.stdout(), stderr: cli.stderr() }
  }))

/** The port a running `serve` reports in its `proxy listening on` log line (http or https). */
export const listeningPort = (cli: CliProcess, listener: "proxy" | "admin" = "proxy") =>
  cli.waitFor(new RegExp(`${listener} listening on https?://[^:]+:(\\d+)`)).pipe(
    Effect.map((match) => Number(match[1]))
  )
