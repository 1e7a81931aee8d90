/**
 * The process settings that keep a long-running proxy's memory bounded, and the decision whether
 * this process must be started again to have them. `main.ts` applies it before loading anything
 * else: settings read once, when the process starts, cannot be changed from JavaScript later.
 *
 * What they fix (measured with `npm run soak` and `npm run bench:tail`, see docs/performance.md,
 * "Tail and memory"):
 * - `--max-semi-space-size=16`: V8 grows the young generation to 2 × 32 MiB on a machine with this
 *   much memory, and already does so at start-up (loading the modules allocates fast); most of
 *   it is garbage waiting for the next scavenge, and its pages stay resident once touched. 16 MiB
 *   costs no measurable CPU per request; smaller ones do (4 MiB: 1.25× the CPU per small request
 *   in `npm run bench`, for about 15 MiB less RSS; 8 MiB: 14 MiB less idle RSS for 2.5× the
 *   scavenge time at a fixed rate in `npm run bench:tail`), so they are left to the user.
 * - `MALLOC_MMAP_THRESHOLD_=32768`: every socket read allocates a 64 KiB buffer, and a copy of
 *   what was read, in glibc's main arena. Those that outlive a scavenge wait for a full GC, which
 *   V8 runs only once external memory has grown by tens of MiB; the arena grows to that peak and,
 *   with small long-lived allocations left between the freed buffers, never gives it back. At
 *   32 KiB such buffers get mappings of their own, returned to the system when freed; setting the
 *   variable also stops glibc from raising the threshold by itself after the first large free.
 *   An mmap and munmap per read is not measurable per request (62.1 against 62.9 µs in
 *   `npm run bench`, same build, access log off).
 * - `MALLOC_ARENA_MAX=2`: each thread that mallocs (V8's GC helpers, libuv's pool) would get an
 *   arena of its own, up to 8 per core, each holding its own free memory; 2 is enough for a
 *   process whose allocations nearly all happen on the main thread.
 *
 * A value the user set (in the environment, or a flag in `NODE_OPTIONS` or on the command line)
 * is left as it is. The glibc variables are ignored by other C libraries (musl), harmlessly.
 */

/** Environment variables read by glibc's allocator when the process starts. */
export const mallocSettings: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "32768"
}

/** V8's young generation: the size of one semi-space, in MiB. */
export const semiSpaceMiB = 16

/** The commands that run for long: only they are worth a second start. */
const longRunning: ReadonlySet<string> = new Set(["serve", "demo"])

export interface ProcessFacts {
  /** `process.argv`: node, the script, then the command's arguments. */
  readonly argv: ReadonlyArray<string>
  readonly execArgv: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string | undefined>>
}

export interface Relaunch {
  /** Node's flags for the new start: this one's, then those added. */
  readonly execArgv: ReadonlyArray<string>
  /** The whole environment of the new start. */
  readonly env: Readonly<Record<string, string>>
}

const mentionsSemiSpace = (flags: ReadonlyArray<string>): boolean =>
  flags.some((flag) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(flag))

/**
 * How this process should be started again to run with the memory settings, or `undefined`
 * when it already has them (or set its own), or runs a short command.
 *
 * Gotcha: the decision is also the loop guard. The new start sees everything added here and
 * decides `undefined`; anything added must be visible in `env` or `execArgv` on the next start.
 */
export const relaunchFor = (facts: ProcessFacts): Relaunch | undefined => {
  const command = facts.argv.slice(2).find((arg) => !arg.startsWith("-"))
  if (command === undefined || !longRunning.has(command)) return undefined
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(facts.env)) {
    if (value !== undefined) env[name] = value
  }
  let changed = false
  for (const [name, value] of Object.entries(mallocSettings)) {
    if (env[name] !== undefined) continue
    env[name] = value
    changed = true
  }
  const nodeOptions = (env["NODE_OPTIONS"] ?? "").split(/\s+/)
  const execArgv = [...facts.execArgv]
  if (!mentionsSemiSpace(facts.execArgv) && !mentionsSemiSpace(nodeOptions)) {
    execArgv.push(`--max-semi-space-size=${semiSpaceMiB}`)
    changed = true
  }
  return changed ? { execArgv, env } : undefined
}
