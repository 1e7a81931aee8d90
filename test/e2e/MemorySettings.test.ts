/**
 * `switchyard serve` as started by a user runs with its memory settings: the same process (one
 * execve, the pid kept) has the allocator variables and the young-generation flag, and a value the
 * user set is the one it runs with. Reads /proc, so Linux only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { mallocSettings, semiSpaceMiB } from "../../src/MemorySettings.ts"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"

const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((entry) => entry !== "").map((entry) => {
      const at = entry.indexOf("=")
      return [entry.slice(0, at), entry.slice(at + 1)]
    })
  )

const argsOf = (pid: number): ReadonlyArray<string> =>
  readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((arg) => arg !== "")

const serveConfig = (backendUrl: string) =>
  writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends:
  - url: ${backendUrl}
`)

describe.skipIf(process.platform !== "linux")("memory settings of a running proxy", () => {
  it.live("serve runs, in the process that was started, with the allocator settings and a bounded young generation", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const cli = yield* startCli(["serve", "--config", serveConfig(backend.url)])
      yield* listeningPort(cli)
      const env = environOf(cli.pid)
      for (const [name, value] of Object.entries(mallocSettings)) assert.strictEqual(env[name], value, name)
      assert.include(argsOf(cli.pid), `--max-semi-space-size=${semiSpaceMiB}`)
    }))

  it.live("a setting the user made is the one the proxy runs with", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const cli = yield* startCli(["serve", "--config", serveConfig(backend.url)], {
        MALLOC_ARENA_MAX: "4",
        NODE_OPTIONS: "--max-semi-space-size=8"
      })
      yield* listeningPort(cli)
      const env = environOf(cli.pid)
      assert.strictEqual(env["MALLOC_ARENA_MAX"], "4")
      assert.strictEqual(env["MALLOC_MMAP_THRESHOLD_"], mallocSettings["MALLOC_MMAP_THRESHOLD_"])
      assert.notInclude(argsOf(cli.pid).join(" "), "--max-semi-space-size")
    }))
})
