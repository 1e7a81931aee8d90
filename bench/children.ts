/**
 * The processes and temp dirs one bench run owns, and their cleanup. Everything the bench starts
 * goes through here, so the end of the run, an error, Ctrl-C or SIGTERM stops every child and
 * removes every temp dir: no backend or proxy outlives the run on a machine that others share.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

/** Output kept per stream: enough for an error message, bounded however chatty a child is. */
const outputLimit = 256 * 1024

/** How long a child gets to stop on SIGTERM before it is killed. */
const stopGraceMs = 3_000

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly stdout: () => string
  /** stdout then stderr, for error messages. */
  readonly output: () => string
  readonly isRunning: () => boolean
  /** Resolves, never rejects, with how the process ended: `exit 0`, `signal SIGTERM`, `error ...`. */
  readonly exited: Promise<string>
  /** The first match of `pattern` in stdout or stderr; rejects if the child ends first or on timeout. */
  readonly waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>
}

const running = new Set<Child>()
const tempDirs = new Set<string>()
let interrupted = false

/** Whether Ctrl-C or SIGTERM has started the cleanup; the main flow then stops quietly. */
export const isInterrupted = (): boolean => interrupted

export const spawnChild = (name: string, command: string, args: ReadonlyArray<string>): Child => {
  // The main flow may still be going when a signal starts the cleanup: it must not start more.
  if (interrupted) throw new Error(`not starting ${name}: the bench is stopping`)
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  let alive = true
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const listener of listeners) listener()
  }
  proc.stdout.on("data", (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-outputLimit)
    notify()
  })
  proc.stderr.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-outputLimit)
    notify()
  })
  const exited = new Promise<string>((resolve) => {
    const ended = (how: string) => {
      if (!alive) return
      alive = false
      running.delete(child)
      resolve(how)
      notify()
    }
    proc.on("exit", (code, signal) => ended(signal === null ? `exit ${code ?? "?"}` : `signal ${signal}`))
    // A command that cannot be started reports `error` and may never report `exit`.
    proc.on("error", (error) => ended(`error ${error.message}`))
  })
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = (out + err).match(pattern)
        if (match !== null) {
          done()
          resolve(match)
        } else if (!alive) {
          done()
          reject(new Error(`${name} ended before printing ${pattern}:\n${out}${err}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${out}${err}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  const child: Child = {
    name,
    process: proc,
    stdout: () => out,
    output: () => out + err,
    isRunning: () => alive,
    exited,
    waitFor
  }
  running.add(child)
  return child
}

/** SIGTERM, then SIGKILL if the child is still there after the grace period. */
export const stopChild = async (child: Child): Promise<void> => {
  if (!child.isRunning()) return
  child.process.kill("SIGTERM")
  const timer = setTimeout(() => child.process.kill("SIGKILL"), stopGraceMs)
  await child.exited
  clearTimeout(timer)
}

export const makeTempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

const removeTempDirs = () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/** Stops every child still running and removes every temp dir. Safe to call more than once. */
export const cleanUp = async (): Promise<void> => {
  await Promise.all(Array.from(running, stopChild))
  removeTempDirs()
}

/**
 * Cleans up on Ctrl-C and SIGTERM (then exits 130 / 143), and as a last resort on any exit: a
 * synchronous SIGKILL to whatever still runs, since an `exit` handler cannot wait.
 */
export const cleanUpOnExit = (): void => {
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = true
    process.stderr.write(`\n${signal}: stopping the bench's processes and removing its temp dirs\n`)
    void cleanUp().finally(() => process.exit(signal === "SIGINT" ? 130 : 143))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  process.on("exit", () => {
    for (const child of running) child.process.kill("SIGKILL")
    removeTempDirs()
  })
}

/**
 * A port that was free a moment ago, for servers that cannot report the port they bound (nginx).
 * Another process may take it in between, so starting such a server must check that it is the one
 * answering, and retry on another port.
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port was assigned"))))
    })
  })

/** The first executable `name` on `PATH` or in `extraDirs` (nginx lives in sbin dirs), if any. */
export const findExecutable = (name: string, extraDirs: ReadonlyArray<string> = []): string | undefined => {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), ...extraDirs].filter((dir) => dir !== "")
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here: try the next dir
    }
  }
  return undefined
}

/**
 * Runs a benchmark's `main` as every bench script does: cleans up on signals and at the end,
 * reports a failure as `<label> failed: …` with exit code 1 (but not the failures of children
 * being stopped after Ctrl-C, which the signal handler reports).
 */
export const runBench = async (label: string, main: () => Promise<void>): Promise<void> => {
  cleanUpOnExit()
  try {
    await main()
  } catch (error) {
    if (!isInterrupted()) {
      process.stderr.write(`${label} failed: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    }
  } finally {
    if (!isInterrupted()) await cleanUp()
  }
}
