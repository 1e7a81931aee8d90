/**
 * Starting `switchyard serve` for a benchmark: a generated config over the benchmark's backends
 * (round robin, ports 0 so nothing collides, log level info so the listeners say where they are),
 * the process started and waited for until it serves. Shared by `run.ts`, `tail.ts` and `soak.ts`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Child } from "./children.ts"
import { makeTempDir, spawnChild } from "./children.ts"
import { waitServing } from "./http.ts"

/** The executable users run (the bundle the `switchyard` bin points to). */
export const switchyardMainJs = new URL("../dist/bundle/switchyard.js", import.meta.url).pathname

export interface SwitchyardOptions {
  readonly name: string
  readonly backendPorts: ReadonlyArray<number>
  readonly accessLog: boolean
  /** More fields of `server:` (`h2c: true`, `tls: { cert: ..., key: ... }`). */
  readonly server?: ReadonlyArray<string>
  /** More lines of the config (`workers: 2`, a health check, a journal in `dir`). */
  readonly config?: (dir: string) => ReadonlyArray<string>
  /** Node flags before the script (a young-generation size, kept by `main.ts`'s relaunch). */
  readonly nodeFlags?: ReadonlyArray<string>
  /** Another build's executable, for an A/B. */
  readonly mainJs?: string
  readonly timeoutMs: number
}

export interface StartedSwitchyard {
  readonly child: Child
  /** The proxy's URL, `/` included. */
  readonly url: string
  readonly adminUrl: string
}

export const startSwitchyard = async (options: SwitchyardOptions): Promise<StartedSwitchyard> => {
  const dir = makeTempDir(`${options.name}-bench-`)
  const config = join(dir, "switchyard.yaml")
  writeFileSync(
    config,
    [
      `server: { ${["host: 127.0.0.1", "port: 0", "gracePeriod: 2s", ...(options.server ?? [])].join(", ")} }`,
      "admin: { host: 127.0.0.1, port: 0 }",
      "strategy: round-robin",
      "backends:",
      ...options.backendPorts.map((port) => `  - url: http://127.0.0.1:${port}`),
      `logging: { level: info, access: ${options.accessLog} }`,
      ...(options.config?.(dir) ?? []),
      ""
    ].join("\n")
  )
  const child = spawnChild(options.name, process.execPath, [
    ...(options.nodeFlags ?? []),
    options.mainJs ?? switchyardMainJs,
    "serve",
    "--config",
    config
  ])
  const origin = (await child.waitFor(/proxy listening on (https?:\/\/[^\s"]+)/, options.timeoutMs))[1]
  const adminUrl = (await child.waitFor(/admin listening on (https?:\/\/[^\s"]+)/, options.timeoutMs))[1]
  if (origin === undefined || adminUrl === undefined) throw new Error(`${options.name} logged no listening address`)
  const url = `${origin}/`
  await waitServing(url, child, options.timeoutMs)
  return { child, url, adminUrl }
}

/** A whole-number setting from the environment, at least `minimum`; `fallback` when unset. */
export const wholeNumberSetting = (name: string, fallback: number, minimum: number): number => {
  const text = process.env[name]
  if (text === undefined || text === "") return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${name} must be a whole number of at least ${minimum}, got ${JSON.stringify(text)}`)
  }
  return value
}
