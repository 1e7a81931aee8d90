/**
 * What a reload changes, as plain comparisons: the registry's members against the new config's
 * pools (which backends join, change or leave), and every other setting that differs between the
 * config in force and the new one, each either applied by the reload or waiting for a restart.
 *
 * The rule, as with nginx and Envoy users' expectations: a reload never ignores a setting in
 * silence. What it applies is listed in `changed`; what only a restart can apply (the listeners,
 * connection pools and observers are built from it at start-up) is listed in `restartNeeded`, and
 * keeps its running value until then — on every reload, not just the first, since it is still not
 * in force. `appliedBy` is the one table that decides which is which.
 */
import { Schema } from "effect"
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import { discoveredMembers } from "../discovery/DnsMembers.ts"
import type { Config } from "./ConfigLoader.ts"
import { poolsOf } from "./ConfigLoader.ts"
import { ConfigSchema } from "./ConfigSchema.ts"
import type { DecodedConfig, RetryConfig } from "./ConfigSchema.ts"

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
    // The addresses DNS discovery found stay members while their source is configured for the same host.
    const discovered = pool.discovered.flatMap((source) => discoveredMembers(source, pool.policy, members))
    for (const { policy, spec } of [...pool.backends.map((spec) => ({ spec, policy: pool.policy })), ...discovered]) {
      wanted.add(spec.name)
      const existing = current.get(spec.name)
      if (existing !== undefined && sameJson(existing.spec, spec) && sameJson(existing.policy, policy)) continue
      ;(existing === undefined ? added : updated).push(spec.name)
      events.push({ _tag: "BackendAdded", at, spec, policy })
    }
  }
  const removed = [...current.keys()].filter((name) => !wanted.has(name))
  for (const backend of removed) events.push({ _tag: "BackendRemoved", at, backend })
  return { added, updated, removed, events }
}

/**
 * `BackendUndrained` for every drained member a reload keeps: the file's backends replace what
 * the admin API changed, drains included. Members the reload removes (`removed`) just leave.
 */
export const undrainEvents = (
  members: ReadonlyArray<BackendState>,
  removed: ReadonlyArray<string>,
  at: number
): ReadonlyArray<BackendEvent> =>
  members
    .filter((state) => state.draining && !state.removed && !removed.includes(state.spec.name))
    .map((state) => ({ _tag: "BackendUndrained", at, backend: state.spec.name }))

/** Whether a reload applies a setting, or only a restart does. */
export type AppliedBy = "reload" | "restart"

const retryAppliedBy: { readonly [K in keyof typeof RetryConfig.Type]-?: AppliedBy } = {
  // The backoff schedule and the retry budget are built once, with the router.
  attempts: "restart",
  baseDelay: "restart",
  maxDelay: "restart",
  budget: "restart",
  // Part of each backend's policy, which a reload replaces.
  honorRetryAfter: "reload"
}

/**
 * Every top-level key of the file (the type makes a new key impossible to forget), or per key of
 * a section that is split. Routing and backend policies are rebuilt on reload; the rest is built
 * into the listeners, connection pools and observers at start-up.
 */
export const appliedBy: {
  readonly [K in keyof DecodedConfig]-?: AppliedBy | Readonly<Record<string, AppliedBy>>
} = {
  strategy: "reload",
  backends: "reload",
  pools: "reload",
  routes: "reload",
  consistentHash: "reload",
  healthCheck: "reload",
  circuitBreaker: "reload",
  ewma: "reload",
  outlierDetection: "reload",
  slowStart: "reload",
  retry: retryAppliedBy,
  server: "restart",
  admin: "restart",
  timeouts: "restart",
  rateLimit: "restart",
  cache: "restart",
  trustProxy: "restart",
  metrics: "restart",
  logging: "restart",
  tracing: "restart",
  journal: "restart",
  workers: "restart",
  // The resolver is built with its servers at start-up; the backends it resolves follow reloads.
  discovery: "restart"
}

const rules = new Map<string, AppliedBy | Readonly<Record<string, AppliedBy>>>(Object.entries(appliedBy))

/** Whether a reload applies the setting at `path` (`pools.static.strategy`, `server.port`). */
export const settingAppliedBy = (path: string): AppliedBy => {
  const [section = "", key = ""] = path.split(".")
  const rule = rules.get(section)
  // A key no table knows is not claimed to apply.
  if (rule === undefined) return "restart"
  return typeof rule === "string" ? rule : rule[key] ?? "restart"
}

/** One setting that differs, in the file's own syntax (`"5s"`, `"10MiB"`); `null` where absent. */
export interface SettingChange {
  /** Its path in the file: `strategy`, `pools.static.strategy`, `timeouts.request`. */
  readonly setting: string
  readonly from: unknown
  readonly to: unknown
}

export interface SettingChanges {
  /** Applied by the reload. */
  readonly changed: ReadonlyArray<SettingChange>
  /** Not applied: `from` stays in force until a restart. */
  readonly restartNeeded: ReadonlyArray<SettingChange>
}

/** Values never written into an answer or a log line. */
const secretSettings = new Set(["admin.token"])
const redacted = "(secret)"

const encode = Schema.encodeSync(ConfigSchema)

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The normalised file (defaults filled, durations and sizes in the file's syntax) without the
 * backend lists, whose changes `diffBackends` reports member by member.
 */
const settingsOf = (config: Config): Readonly<Record<string, unknown>> => {
  const { backends: _backends, pools, ...rest } = encode(config)
  if (pools === undefined) return rest
  const withoutBackends = Object.entries(pools).map(([name, { backends: _members, ...pool }]) => [name, pool])
  return { ...rest, pools: Object.fromEntries(withoutBackends) }
}

const collect = (path: string, from: unknown, to: unknown, into: Array<SettingChange>): void => {
  // Two sections are compared key by key; anything else (a value, a list, a section that only
  // one side has) is one setting.
  if (isRecord(from) && isRecord(to)) {
    for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
      collect(path === "" ? key : `${path}.${key}`, from[key], to[key], into)
    }
    return
  }
  if (sameJson(from, to)) return
  const secret = secretSettings.has(path)
  into.push({
    setting: path,
    from: from === undefined ? null : secret ? redacted : from,
    to: to === undefined ? null : secret ? redacted : to
  })
}

/** Every setting but the backend lists that differs from `inForce` to `next`, sorted by who applies it. */
export const diffSettings = (inForce: Config, next: Config): SettingChanges => {
  const all: Array<SettingChange> = []
  collect("", settingsOf(inForce), settingsOf(next), all)
  return {
    changed: all.filter((change) => settingAppliedBy(change.setting) === "reload"),
    restartNeeded: all.filter((change) => settingAppliedBy(change.setting) === "restart")
  }
}

/**
 * The config in force once `next` is reloaded over `inForce`: `next`'s values for what a reload
 * applies, `inForce`'s for what waits for a restart. The router and the backends' policies are
 * built from it, so a half-applied section (`retry.maxDelay` also caps `Retry-After`) stays whole.
 * It agrees with `appliedBy` (the properties in `test/domain/config` hold the two together).
 */
export const applyReload = (inForce: Config, next: Config): Config => {
  const {
    cache: _cache,
    discovery: _discovery,
    journal: _journal,
    rateLimit: _rateLimit,
    tracing: _tracing,
    ...reloadable
  } = next
  return {
    ...reloadable,
    server: inForce.server,
    admin: inForce.admin,
    timeouts: inForce.timeouts,
    trustProxy: inForce.trustProxy,
    metrics: inForce.metrics,
    logging: inForce.logging,
    workers: inForce.workers,
    retry: { ...inForce.retry, honorRetryAfter: next.retry.honorRetryAfter },
    ...(inForce.cache === undefined ? {} : { cache: inForce.cache }),
    ...(inForce.discovery === undefined ? {} : { discovery: inForce.discovery }),
    ...(inForce.journal === undefined ? {} : { journal: inForce.journal }),
    ...(inForce.rateLimit === undefined ? {} : { rateLimit: inForce.rateLimit }),
    ...(inForce.tracing === undefined ? {} : { tracing: inForce.tracing })
  }
}

/** What a reload did: the answer of `POST /reload`. */
export interface ReloadChanges extends SettingChanges {
  readonly added: ReadonlyArray<string>
  readonly updated: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

const show = (value: unknown): string =>
  value === null ? "(none)" : typeof value === "string" ? value : JSON.stringify(value)

const describeChange = (change: SettingChange): string => `${change.setting} ${show(change.from)} → ${show(change.to)}`

/**
 * The reload's log line: counts of backends, then every setting it applied and every one that
 * waits for a restart, each with its old and new value.
 */
export const describeReload = (changes: ReloadChanges): string =>
  `config reloaded: ${changes.added.length} added, ${changes.updated.length} updated, ${changes.removed.length} removed` +
  (changes.changed.length === 0 ? "" : `; changed: ${changes.changed.map(describeChange).join(", ")}`) +
  (changes.restartNeeded.length === 0
    ? ""
    : `; a restart is needed to apply: ${changes.restartNeeded.map(describeChange).join(", ")}`)
