/**
 * When `switchyard` starts itself again with its memory settings: only for long-running
 * commands, only when something is missing, never over a value the user set, and never twice.
 */
import { assert, describe, it } from "@effect/vitest"
import { mallocSettings, relaunchFor, semiSpaceMiB } from "../src/MemorySettings.ts"

const facts = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  execArgv: ReadonlyArray<string> = []
) => ({
  argv: ["/usr/bin/node", "/app/dist/main.js", ...args],
  execArgv,
  env
})

describe("memory settings", () => {
  it("serve and demo are started again with the allocator setting and a bounded young generation", () => {
    for (const command of ["serve", "demo"]) {
      const relaunch = relaunchFor(facts([command, "--config", "c.yaml"], { HOME: "/root" }))
      assert.deepStrictEqual(relaunch, {
        execArgv: [`--max-semi-space-size=${semiSpaceMiB}`],
        env: { HOME: "/root", ...mallocSettings }
      })
    }
  })

  it("short commands run as they are", () => {
    for (const args of [["check"], ["replay", "j.jsonl"], ["--help"], []]) assert.isUndefined(relaunchFor(facts(args)))
  })

  it("the started-again process does not start again: what was added is what it checks", () => {
    const first = relaunchFor(facts(["serve"], {}))
    assert.isDefined(first)
    if (first !== undefined) assert.isUndefined(relaunchFor(facts(["serve"], { ...first.env }, first.execArgv)))
  })

  it("a value the user set is kept, in the environment, NODE_OPTIONS or the node command line", () => {
    const allocator = { MALLOC_ARENA_MAX: "8", MALLOC_MMAP_THRESHOLD_: "131072" }
    assert.isUndefined(relaunchFor(facts(["serve"], { ...allocator, NODE_OPTIONS: "--max-semi-space-size=64" })))
    assert.isUndefined(relaunchFor(facts(["serve"], allocator, ["--max_semi_space_size=2"])))
    // Only what is missing is added, around what the user set.
    assert.deepStrictEqual(relaunchFor(facts(["serve"], { MALLOC_ARENA_MAX: "8" }, ["--max-semi-space-size=2"])), {
      execArgv: ["--max-semi-space-size=2"],
      env: { MALLOC_ARENA_MAX: "8", MALLOC_MMAP_THRESHOLD_: "32768" }
    })
  })
})
