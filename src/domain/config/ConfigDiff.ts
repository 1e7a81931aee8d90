/**
 * What a reload changes, as a plain comparison: the registry's members against the new config's
 * pools (which backends join, change or leave), and which settings changed that only a restart
 * applies.
 */
import { Schema } from "effect"
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import type { Config } from "./ConfigLoader.ts"
import { poolsOf } from "./ConfigLoader.ts"
import { ConfigSchema } from "./ConfigSchema.ts"

export interface BackendChanges {
  readonly added: ReadonlyArray<string>
  readonly updated: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  /** The events that make the registry match the new config, in order: joins first, leaves last. */
  readonly events: ReadonlyArray<BackendEvent>
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

export const diffBackends = (members: ReadonlyArray<BackendState>, next: Config, at: number): BackendChanges => {
  const current = new Map(members.filter((state) => !state.removed).map((state) => [state.spec.name, state]))
  const added: Array<string> = []
  const updated: Array<string> = []
  const events: Array<BackendEvent> = []
  const wanted = new Set<string>()
  for (const pool of poolsOf(next)) {
    for (const spec of pool.backends) {
      wanted.add(spec.name)
      const existing = current.get(spec.name)
      if (existing !== undefined && sameJson(existing.spec, spec) && sameJson(existing.policy, pool.policy)) continue
      ;(existing === undefined ? added : updated).push(spec.name)
      events.push({ _tag: "BackendAdded", at, spec, policy: pool.policy })
    }
  }
  const removed = [...current.keys()].filter((name) => !wanted.has(name))
  for (const backend of removed) events.push({ _tag: "BackendRemoved", at, backend })
  return { added, updated, removed, events }
}

/**
 * Settings a reload does not apply: the listeners, connections and observers are built from them
 * at start-up. Backends, pools, routes, strategies, health checks and breaker settings do apply.
 */
const restartOnly = [
  "server",
  "admin",
  "timeouts",
  "retry",
  "rateLimit",
  "trustProxy",
  "metrics",
  "logging",
  "tracing",
  "journal"
] as const

const encode = Schema.encodeSync(ConfigSchema)

export const restartNeededFor = (running: Config, next: Config): ReadonlyArray<string> => {
  const before: Record<string, unknown> = encode(running)
  const after: Record<string, unknown> = encode(next)
  return restartOnly.filter((key) => !sameJson(before[key], after[key]))
}
