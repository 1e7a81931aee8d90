/**
 * What a started proxy holds before any traffic: the shipped executable (the bundle) loads only
 * what its config uses. Measured about 79 MiB (2026-12-02; 128 MiB before the bundle); the bound
 * leaves room for a busier machine. Reads /proc, so Linux only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"

const rssMiB = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((entry) => entry.startsWith("VmRSS:"))
  return Number(line?.replace(/\D+/g, "") ?? Number.NaN) / 1024
}

describe.skipIf(process.platform !== "linux")("idle memory", () => {
  it.live("a started proxy holds under 100 MiB of RSS", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const cli = yield* startCli([
        "serve",
        "--config",
        writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
backends:
  - url: ${backend.url}
`)
      ])
      yield* listeningPort(cli, "admin")
      yield* Effect.sleep("1 second")
      const rss = rssMiB(cli.pid)
      assert.isBelow(rss, 100, `idle RSS ${rss.toFixed(1)} MiB`)
    }), 20_000)
})
