/**
 * The bin started by a Node too old for it, as a global install on a machine image's Node 20
 * would be: one line, exit 1, before anything that needs a newer Node is loaded.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { delimiter, join } from "node:path"
import { nodeTooOld } from "../../src/NodeVersion.ts"
import { mainJs, writeConfig } from "../support/Cli.ts"

/** The first `node` on PATH, in /usr/bin or /usr/local/bin that is older than the bin accepts. */
const olderNode = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]
  .map((directory) => join(directory, "node"))
  .filter((candidate) => existsSync(candidate))
  .map((path) => ({
    path,
    version: spawnSync(path, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
  }))
  .find(({ version }) => version !== "" && nodeTooOld(version) !== undefined)

describe.skipIf(olderNode === undefined)(
  "switchyard on a Node older than 22.19 (skipped: no older node on PATH, in /usr/bin or /usr/local/bin)",
  () => {
    it("every command, even --version, says which Node it needs in one line and exits 1", () => {
      if (olderNode === undefined) return
      const config = writeConfig("backends: [{ url: 'http://127.0.0.1:9' }]\n")
      for (const args of [["serve", "--config", config], ["check", "--config", config], ["--version"]]) {
        const run = spawnSync(olderNode.path, [mainJs, ...args], { encoding: "utf8", timeout: 10_000 })
        assert.strictEqual(run.status, 1, args.join(" "))
        assert.strictEqual(run.stderr, `Switchyard needs Node >= 22.19, this is ${olderNode.version}\n`)
        assert.strictEqual(run.stdout, "")
      }
    })
  }
)
