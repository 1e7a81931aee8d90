/**
 * The backends API's changes, as plain functions: each takes the config in force and the
 * request, and gives the config to apply with the membership events that make the registry match
 * it, or every problem with the request.
 *
 * A new or changed backend is validated as if it were written in the file: it is put into the
 * config's own document (`ConfigDocument.ts`) and the whole is decoded again, so the API accepts
 * nothing a reload would refuse (the schema's ranges, unique names across pools, a protocol that
 * fits the URL's scheme, gRPC health checks over HTTP/2) and answers with the same messages,
 * their paths relative to the request's body.
 *
 * Drains are not config: they are a member's state (`BackendDrained`), which the config in force
 * knows nothing of and a reload of the file clears.
 */
import { Result, Schema } from "effect"
import { defaultPool } from "../Backend.ts"
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import { BackendChangeRefused, InvalidBackendChange, UnknownBackend } from "../Errors.ts"
import type { ConfigProblem } from "../Errors.ts"
import { configDocument } from "./ConfigDocument.ts"
import type { ConfigDocument } from "./ConfigDocument.ts"
import type { Config, ConfiguredBackend } from "./ConfigLoader.ts"
import { decodeConfig, poolsOf } from "./ConfigLoader.ts"
import { BackendConfig } from "./ConfigSchema.ts"
import { schemaProblems } from "./Problems.ts"
import { formatPath } from "./YamlSource.ts"
import type { ConfigPath } from "./YamlSource.ts"

/** A change the API computed: the config in force from now on, and the events that apply it. */
export interface BackendChange {
  readonly next: Config
  readonly events: ReadonlyArray<BackendEvent>
  /** The backend it is about (a new one's settled name: its `name`, else its URL's `host:port`). */
  readonly name: string
}

/** `POST /backends`: a backend as the file writes one, and the pool it joins (the default one if absent). */
export const NewBackend = Schema.Struct({ ...BackendConfig.fields, pool: Schema.optionalKey(Schema.String) })

/**
 * `PATCH /backends/NAME`: the keys that may change. Their values are checked by `BackendConfig`
 * once laid over the backend, so both kinds of problem are found in one request.
 */
const patchKeys = ["weight", "maxConnections"] as const

const BackendPatch = Schema.Struct({
  weight: Schema.optionalKey(Schema.Unknown),
  maxConnections: Schema.optionalKey(Schema.Unknown)
})

const strict = { errors: "all", onExcessProperty: "error", reportInput: true } as const
const decodeNew = Schema.decodeUnknownResult(NewBackend, strict)
const decodePatch = Schema.decodeUnknownResult(BackendPatch, strict)
const encodeBackend = Schema.encodeSync(BackendConfig)

type BackendEntry = typeof BackendConfig.Encoded

const noPosition = () => undefined

const invalid = (problems: ReadonlyArray<ConfigProblem>) => Result.fail(new InvalidBackendChange({ problems }))

/** Where a configured backend is written: its pool, and its path and index in the document. */
interface Place {
  readonly pool: string
  readonly path: ConfigPath
  readonly index: number
}

const listPath = (pool: string): ConfigPath => pool === defaultPool ? ["backends"] : ["pools", pool, "backends"]

/** Each pool's backends as the file lists them: members, and `discovery: dns` sources of members. */
const listsOf = (
  config: Config
): ReadonlyArray<{ readonly pool: string; readonly backends: ReadonlyArray<ConfiguredBackend> }> => [
  { pool: defaultPool, backends: config.backends },
  ...Object.entries(config.pools ?? {}).map(([pool, settings]) => ({ pool, backends: settings.backends }))
]

const placeOf = (config: Config, name: string): (Place & { readonly backend: ConfiguredBackend }) | undefined => {
  for (const { backends, pool } of listsOf(config)) {
    const index = backends.findIndex((backend) => backend.name === name)
    const backend = backends[index]
    if (backend !== undefined) return { pool, path: [...listPath(pool), index], index, backend }
  }
  return undefined
}

const entriesOf = (document: ConfigDocument, pool: string): ReadonlyArray<BackendEntry> =>
  pool === defaultPool ? document.backends : document.pools?.[pool]?.backends ?? []

/** The document with `pool`'s backend list replaced. */
const withEntries = (document: ConfigDocument, pool: string, backends: ReadonlyArray<BackendEntry>): ConfigDocument => {
  if (pool === defaultPool) return { ...document, backends }
  const pools = document.pools ?? {}
  const settings = pools[pool]
  return settings === undefined ? document : { ...document, pools: { ...pools, [pool]: { ...settings, backends } } }
}

/** A problem at `prefix` (the backend's place in the document) restated at the body's own path. */
const relativeTo = (prefix: string) => (problem: ConfigProblem): ConfigProblem =>
  problem.path === prefix
    ? { ...problem, path: "" }
    : problem.path.startsWith(`${prefix}.`)
    ? { ...problem, path: problem.path.slice(prefix.length + 1) }
    : problem

/** Decodes the changed document as a reload would decode the file; problems about `place` are the body's. */
const decodeChanged = (
  document: ConfigDocument,
  path: ConfigPath
): Result.Result<Config, ReadonlyArray<ConfigProblem>> =>
  decodeConfig({ file: "request", value: document, env: {} }).pipe(
    Result.mapError((error) => error.problems.map(relativeTo(formatPath(path))))
  )

/**
 * The `BackendAdded` that makes the registry hold `name` as `next` configures it; none for a
 * `discovery: dns` source, whose members discovery makes from its new spec.
 */
const joined = (next: Config, name: string, at: number): ReadonlyArray<BackendEvent> =>
  poolsOf(next).flatMap((pool) =>
    pool.backends.filter((spec) => spec.name === name).map((spec): BackendEvent => ({
      _tag: "BackendAdded",
      at,
      spec,
      policy: pool.policy
    }))
  )

/** `POST /backends`: the backend joins the end of its pool. */
export const addBackend = (
  inForce: Config,
  body: unknown,
  at: number
): Result.Result<BackendChange, InvalidBackendChange> => {
  const decoded = decodeNew(body)
  if (Result.isFailure(decoded)) return invalid(schemaProblems(decoded.failure.issue, noPosition))
  const { pool = defaultPool, ...backend } = decoded.success
  const lists = listsOf(inForce)
  const problems: Array<ConfigProblem> = []
  if (!lists.some((list) => list.pool === pool)) {
    const known = lists.map((list) => list.pool).join(", ")
    problems.push({ path: "pool", message: `Unknown pool "${pool}"; expected one of: ${known}` })
  }
  // Checked here rather than left to the decoding below, which names the later of two equal
  // names, and the new backend need not be the later one in the file's order.
  const name = backend.name ?? new URL(backend.url).host
  const taken = lists.find((list) => list.backends.some((configured) => configured.name === name))
  if (taken !== undefined) {
    problems.push({
      path: backend.name === undefined ? "url" : "name",
      message: `Duplicate backend name "${name}" (in pool ${taken.pool})` +
        (backend.name === undefined ? "; give the backend a distinct `name`" : "")
    })
  }
  if (problems.length > 0) return invalid(problems)
  const document = configDocument(inForce)
  const entries = entriesOf(document, pool)
  const path = [...listPath(pool), entries.length]
  const next = decodeChanged(withEntries(document, pool, [...entries, encodeBackend(backend)]), path)
  if (Result.isFailure(next)) return invalid(next.failure)
  return Result.succeed({ next: next.success, events: joined(next.success, name, at), name })
}

/** `PATCH /backends/NAME`: a new weight or connection cap, the rest of the backend unchanged. */
export const updateBackend = (
  inForce: Config,
  name: string,
  body: unknown,
  at: number
): Result.Result<BackendChange, InvalidBackendChange | UnknownBackend> => {
  const place = placeOf(inForce, name)
  if (place === undefined) return Result.fail(new UnknownBackend({ name }))
  const keys = decodePatch(body)
  const keyProblems = Result.isFailure(keys) ? schemaProblems(keys.failure.issue, noPosition) : []
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid(keyProblems)
  const patch = Object.fromEntries(Object.entries(body).filter(([key]) => patchKeys.some((known) => known === key)))
  if (keyProblems.length === 0 && Object.keys(patch).length === 0) {
    return invalid([{ path: "", message: `Expected at least one of: ${patchKeys.join(", ")}` }])
  }
  const document = configDocument(inForce)
  const entries = entriesOf(document, place.pool)
  const changed = entries.map((entry, index) => index === place.index ? { ...entry, ...patch } : entry)
  const next = decodeChanged(withEntries(document, place.pool, changed), place.path)
  const valueProblems = Result.isFailure(next) ? next.failure : []
  if (keyProblems.length > 0 || Result.isFailure(next)) return invalid([...keyProblems, ...valueProblems])
  return Result.succeed({ next: next.success, events: joined(next.success, name, at), name })
}

/**
 * `DELETE /backends/NAME`: the backend leaves (`BackendRemoved`: no new requests, forgotten once
 * its requests in flight are done). A pool's last backend stays: a pool needs one.
 */
export const removeBackend = (
  inForce: Config,
  name: string,
  at: number
): Result.Result<BackendChange, InvalidBackendChange | UnknownBackend | BackendChangeRefused> => {
  const place = placeOf(inForce, name)
  if (place === undefined) return Result.fail(new UnknownBackend({ name }))
  const document = configDocument(inForce)
  const entries = entriesOf(document, place.pool)
  if (entries.length === 1) {
    return Result.fail(
      new BackendChangeRefused({
        message: `"${name}" is the last backend of pool "${place.pool}", which needs one; drain it instead`
      })
    )
  }
  const remaining = entries.filter((_, index) => index !== place.index)
  const next = decodeChanged(withEntries(document, place.pool, remaining), place.path)
  if (Result.isFailure(next)) return invalid(next.failure)
  // A discovery source is no member: discovery takes its members out as it stops following it.
  const events: ReadonlyArray<BackendEvent> = place.backend.discovery === undefined
    ? [{ _tag: "BackendRemoved", at, backend: name }]
    : []
  return Result.succeed({ next: next.success, events, name })
}

/**
 * `POST /backends/NAME/drain` and `/undrain`: the event that moves a member there, none when it
 * already is. Any member may be drained, configured or not; a removed one is gone.
 */
export const drainEvents = (
  state: BackendState | undefined,
  name: string,
  draining: boolean,
  at: number
): Result.Result<ReadonlyArray<BackendEvent>, UnknownBackend> => {
  if (state === undefined || state.removed) return Result.fail(new UnknownBackend({ name }))
  if (state.draining === draining) return Result.succeed([])
  return Result.succeed([{ _tag: draining ? "BackendDrained" : "BackendUndrained", at, backend: name }])
}
