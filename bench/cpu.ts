/**
 * CPU time a process and its descendants have used (user + system, from `/proc`), so the bench can
 * report CPU per request: on shared machines req/s swings between runs, CPU per request barely
 * moves, which makes it the figure to compare builds by. Linux only; elsewhere `undefined`.
 * Descendants count because nginx does its work in worker processes its master forked.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime + stime of one process, in clock ticks; 0 when it is gone. */
const ownTicks = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

const childrenOf = (pid: number): ReadonlyArray<number> => {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(" ").filter((s) => s !== "").map(Number)
    )
  } catch {
    return []
  }
}

/** Microseconds of CPU used by `pid` and every process below it, or `undefined` off Linux. */
export const treeCpuMicros = (pid: number | undefined): number | undefined => {
  if (pid === undefined || process.platform !== "linux") return undefined
  let ticks = 0
  const pending = [pid]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    ticks += ownTicks(next)
    pending.push(...childrenOf(next))
  }
  return (ticks / ticksPerSecond) * 1e6
}
