#!/usr/bin/env node
/**
 * The `switchyard` executable. First, before anything else is loaded, it refuses a Node too old
 * to run it, in one line (`NodeVersion.ts`). Then it makes sure a long-running command runs with
 * the memory settings of `MemorySettings.ts`: if they are missing, it replaces itself
 * (`process.execve`: same pid, same stdio, so supervisors and signals see one process) with a
 * start that has them. Then it runs the command line (`cli.ts`), loaded only now so that a process
 * about to be replaced never pays for loading it.
 */
import { relaunchFor } from "./MemorySettings.ts"
import { nodeTooOld } from "./NodeVersion.ts"

const tooOld = nodeTooOld(process.versions.node)
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`)
  process.exit(1)
}

const relaunch = relaunchFor(process)
if (relaunch !== undefined && process.execve !== undefined) {
  try {
    process.execve(process.execPath, [process.execPath, ...relaunch.execArgv, ...process.argv.slice(1)], relaunch.env)
  } catch (error) {
    // Without the settings the proxy still works, with more memory: say so and carry on.
    process.stderr.write(
      `switchyard: running without its memory settings (${error instanceof Error ? error.message : String(error)})\n`
    )
  }
}

await import("./cli.ts")
