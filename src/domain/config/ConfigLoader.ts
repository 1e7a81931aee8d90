/**
 * Config text → a usable `Config`, or every problem with it. Pure: the caller reads the file and
 * passes the environment, so tests need neither disk nor `process.env`.
 *
 * Order of work: YAML syntax and `${NAME}` references; absent sections filled with `{}`; the
 * `LB_*` overrides laid over the file; strict Schema decoding (unknown keys, types, ranges, units,
 * all problems at once); then cross-field rules (unique backend names). Each problem names the
 * file position, or the environment variable, it came from.
 */
import { Duration, Result, Schema } from "effect"
import { isIP } from "node:net"
import { dirname, resolve } from "node:path"
import { defaultPool } from "../Backend.ts"
import type { BackendSpec } from "../Backend.ts"
import type { BackendPolicy } from "../BackendPolicy.ts"
import type { ConfigProblem } from "../Errors.ts"
import { ConfigError } from "../Errors.ts"
import { builtInStrategies } from "../selection/Strategies.ts"
import type { StrategyTable } from "../selection/Strategies.ts"
import { ConfigSchema, configSchemaFor, optionalSections } from "./ConfigSchema.ts"
import type {
  BackendProtocol as BackendProtocolSchema,
  DecodedConfig,
  HealthCheckConfig,
  PoolConfig as PoolConfigSchema
} from "./ConfigSchema.ts"
import { inFileOrder, schemaProblems } from "./Problems.ts"

type HealthCheck = typeof HealthCheckConfig.Type
type PoolConfig = typeof PoolConfigSchema.Type
import { formatPath, parseYamlSource, scalarFromText } from "./YamlSource.ts"
import type { ConfigPath, YamlSource } from "./YamlSource.ts"

/**
 * A backend as the file gives it, its name (and pool) settled. With `discovery: dns` it is not a
 * member itself but the source of members, one per address of its host (`discovery/DnsMembers.ts`).
 */
export interface ConfiguredBackend extends BackendSpec {
  readonly discovery?: "dns"
}

/** The config every service reads: the decoded file with each backend's name (and pool) settled. */
export interface Config extends Omit<DecodedConfig, "backends" | "pools"> {
  /** The default pool's backends. */
  readonly backends: ReadonlyArray<ConfiguredBackend>
  readonly pools?: Readonly<
    Record<string, Omit<PoolConfig, "backends"> & { readonly backends: ReadonlyArray<ConfiguredBackend> }>
  >
}

/** One pool as the router and the registry use it: the default pool first, then the named ones. */
export interface PoolSettings {
  readonly name: string
  /** A name of the strategy table the config was decoded against. */
  readonly strategy: string
  /** Its members as configured. */
  readonly backends: ReadonlyArray<BackendSpec>
  /** Its `discovery: dns` backends, whose members are their host's addresses. */
  readonly discovered: ReadonlyArray<BackendSpec>
  readonly policy: BackendPolicy
}

/** The opt-in parts of a backend's policy, each present only when its config section or key is. */
const optionalPolicy = (config: Config): Partial<BackendPolicy> => {
  const { ewma, outlierDetection, retry, slowStart } = config
  return {
    ...(outlierDetection === undefined ? {} : {
      ejection: {
        baseMs: Duration.toMillis(outlierDetection.baseEjectionTime),
        maxMs: Duration.toMillis(outlierDetection.maxEjectionTime),
        maxPercent: outlierDetection.maxEjectionPercent
      }
    }),
    ...(slowStart === undefined ? {} : {
      slowStart: {
        windowMs: Duration.toMillis(slowStart.window),
        minWeightPercent: slowStart.minWeightPercent,
        aggression: slowStart.aggression
      }
    }),
    ...(ewma.defaultRtt === undefined ? {} : { peakDefaultRttMs: Duration.toMillis(ewma.defaultRtt) }),
    ...(ewma.failurePenalty === undefined ? {} : { failurePenaltyMs: Duration.toMillis(ewma.failurePenalty) }),
    ...(retry.honorRetryAfter ? { retryAfterMaxMs: Duration.toMillis(retry.maxDelay) } : {})
  }
}

/** The per-backend tunables of a pool with health checks `healthCheck`, as `BackendAdded` carries them. */
export const policyOf = (config: Config, healthCheck: HealthCheck | undefined): BackendPolicy => {
  const policy: BackendPolicy = {
    healthyThreshold: healthCheck?.healthyThreshold ?? 2,
    unhealthyThreshold: healthCheck?.unhealthyThreshold ?? 3,
    failureThreshold: config.circuitBreaker.failureThreshold,
    resetTimeoutMs: Duration.toMillis(config.circuitBreaker.resetTimeout),
    halfOpenRequests: config.circuitBreaker.halfOpenRequests,
    ewmaDecayMs: Duration.toMillis(config.ewma.decay),
    ...optionalPolicy(config)
  }
  return healthCheck === undefined ? policy : {
    ...policy,
    probe: {
      path: healthCheck.path,
      intervalMs: Duration.toMillis(healthCheck.interval),
      timeoutMs: Duration.toMillis(healthCheck.timeout),
      ...(healthCheck.grpc ? { grpc: true } : {})
    }
  }
}

/** A pool's backends: the members as configured, and those discovered by DNS (without the flag). */
const splitDiscovered = (backends: ReadonlyArray<ConfiguredBackend>) => ({
  backends: backends.filter((backend) => backend.discovery === undefined),
  discovered: backends.flatMap(({ discovery, ...spec }) => discovery === undefined ? [] : [spec])
})

/** Every pool: the default one (top-level `strategy`, `backends`, `healthCheck`) first. */
export const poolsOf = (config: Config): ReadonlyArray<PoolSettings> => [
  {
    name: defaultPool,
    strategy: config.strategy,
    ...splitDiscovered(config.backends),
    policy: policyOf(config, config.healthCheck)
  },
  ...Object.entries(config.pools ?? {}).map(([name, pool]) => ({
    name,
    strategy: pool.strategy,
    ...splitDiscovered(pool.backends),
    policy: policyOf(config, pool.healthCheck)
  }))
]

/** Environment variables that override single keys of the file, validated like the file. */
export const envOverrides: ReadonlyArray<{ readonly variable: string; readonly path: ConfigPath }> = [
  { variable: "LB_STRATEGY", path: ["strategy"] },
  { variable: "LB_PORT", path: ["server", "port"] },
  { variable: "LB_ADMIN_PORT", path: ["admin", "port"] }
]

export interface ConfigInput {
  /** Shown in every problem; also decides nothing else (YAML and JSON parse the same way). */
  readonly file: string
  readonly text: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** The strategies the config may name; the built-in ones when absent. */
  readonly strategies?: StrategyTable
}

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const

const decode = Schema.decodeUnknownResult(ConfigSchema, decodeOptions)

/** The decoder for `table`: the built-in one is made once, another when a config is decoded against it. */
const decoderFor = (table: StrategyTable | undefined) =>
  table === undefined || table === builtInStrategies
    ? decode
    : Schema.decodeUnknownResult(configSchemaFor([...table.keys()]), decodeOptions)

export const loadConfig = (input: ConfigInput): Result.Result<Config, ConfigError> => {
  const source = parseYamlSource(input.text, input.env)
  if (source.syntaxProblems.length > 0) {
    return Result.fail(new ConfigError({ file: input.file, problems: source.syntaxProblems }))
  }
  return decodeConfig({ ...input, value: source.value, source }).pipe(
    Result.map((config) => resolvePaths(config, dirname(input.file)))
  )
}

/**
 * File paths in a config file are relative to the file's own directory, not to wherever the
 * process was started, so a config means the same thing from any working directory.
 */
export const resolvePaths = (config: Config, baseDir: string): Config => {
  const tls = config.server.tls
  const withTls = tls === undefined
    ? config
    : {
      ...config,
      server: { ...config.server, tls: { cert: resolve(baseDir, tls.cert), key: resolve(baseDir, tls.key) } }
    }
  return withTls.journal === undefined ? withTls : { ...withTls, journal: resolve(baseDir, withTls.journal) }
}

/** Where problems can be located; a config built in code has no positions. */
type Locator = Pick<YamlSource, "locate" | "unsetVariables">

const noPositions: Locator = { locate: () => undefined, unsetVariables: [] }

/**
 * Decodes a config value (the file's content as plain data, or an object built by a program in
 * the file's syntax: durations as `"5s"`, sizes as `"10MiB"`) into a `Config`.
 */
export const decodeConfig = (input: {
  readonly file: string
  readonly value: unknown
  readonly env: Readonly<Record<string, string | undefined>>
  readonly source?: Locator
  /** The strategies the config may name; the built-in ones when absent. */
  readonly strategies?: StrategyTable
}): Result.Result<Config, ConfigError> => {
  const source = input.source ?? noPositions
  const fail = (problems: ReadonlyArray<ConfigProblem>) =>
    Result.fail(new ConfigError({ file: input.file, problems: inFileOrder(problems) }))
  if (input.value === undefined || input.value === null) {
    return fail([{ path: "", message: "the file is empty; expected at least a `backends:` list" }])
  }
  if (typeof input.value !== "object" || Array.isArray(input.value)) {
    return fail([{ path: "", message: "Expected a mapping of keys (server, backends, ...) at the top level", line: 1 }])
  }
  const raw: Record<string, unknown> = { ...input.value }
  for (const section of optionalSections) {
    if (raw[section] === undefined || raw[section] === null) raw[section] = {}
  }
  const overridden = applyEnvOverrides(raw, input.env)

  const unset = source.unsetVariables
  const decoded = decoderFor(input.strategies)(raw, { reportInput: true })
  if (Result.isFailure(decoded)) {
    const unsetPaths = new Set(unset.map((problem) => problem.path))
    const problems = schemaProblems(decoded.failure.issue, source.locate, overridden)
    return fail([...unset, ...problems.filter((problem) => !unsetPaths.has(problem.path))])
  }
  const settled = settleBackendNames(decoded.success, source)
  const problems = [...unset, ...settled.problems, ...crossFieldProblems(decoded.success, source)]
  return problems.length > 0 ? fail(problems) : Result.succeed(settled.config)
}

/** Lays each set `LB_*` variable over the raw document; returns which paths came from where. */
const applyEnvOverrides = (
  raw: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>
): ReadonlyMap<string, string> => {
  const overridden = new Map<string, string>()
  for (const { variable, path } of envOverrides) {
    const value = env[variable]
    if (value === undefined || value === "") continue
    let target: Record<string, unknown> = raw
    for (const segment of path.slice(0, -1)) {
      const next = target[segment]
      const section: Record<string, unknown> = typeof next === "object" && next !== null && !Array.isArray(next)
        ? { ...next }
        : {}
      target[segment] = section
      target = section
    }
    target[String(path[path.length - 1])] = scalarFromText(value)
    overridden.set(formatPath(path), variable)
  }
  return overridden
}

/** Rules between fields, once each field is valid on its own. */
const crossFieldProblems = (config: DecodedConfig, source: Locator): Array<ConfigProblem> => {
  const problems: Array<ConfigProblem> = []
  const at = (path: ConfigPath, message: string) =>
    problems.push({ path: formatPath(path), message, ...source.locate(path) })
  if (Duration.isLessThan(config.retry.maxDelay, config.retry.baseDelay)) {
    at(["retry", "maxDelay"], "Expected at least retry.baseDelay")
  }
  const healthChecks: Array<readonly [ConfigPath, HealthCheck | undefined]> = [
    [["healthCheck"], config.healthCheck],
    ...Object.entries(config.pools ?? {}).map(([name, pool]) =>
      [["pools", name, "healthCheck"], pool.healthCheck] as const
    )
  ]
  for (const [path, healthCheck] of healthChecks) {
    if (healthCheck !== undefined && Duration.isGreaterThan(healthCheck.timeout, healthCheck.interval)) {
      at([...path, "timeout"], "Expected at most the interval: a probe must end before the next begins")
    }
  }
  protocolProblems(config, at)
  for (const { backend, path } of backendEntries(config)) {
    const host = new URL(backend.url).hostname
    if (backend.discovery === "dns" && isIP(host.startsWith("[") ? host.slice(1, -1) : host) !== 0) {
      at([...path, "url"], `discovery: dns resolves a host name; ${host} is an address already`)
    }
  }
  if (config.pools?.[defaultPool] !== undefined) {
    at(["pools", defaultPool], `"${defaultPool}" is the top-level backends' pool; choose another name`)
  }
  const known = [...new Set([defaultPool, ...Object.keys(config.pools ?? {})])]
  config.routes?.forEach((route, index) => {
    if (!known.includes(route.pool)) {
      at(["routes", index, "pool"], `Unknown pool "${route.pool}"; expected one of: ${known.join(", ")}`)
    }
    if (route.match.host === undefined && route.match.pathPrefix === undefined) {
      at(["routes", index, "match"], "Expected a host, a pathPrefix or both")
    }
  })
  return problems
}

type BackendProtocol = typeof BackendProtocolSchema.Type

/** The protocol a backend is spoken to with: its own, else its pool's; `undefined` is HTTP/1.1. */
const writtenProtocol = (
  decoded: DecodedConfig,
  backend: { readonly protocol?: BackendProtocol },
  pool: string | undefined
): BackendProtocol => backend.protocol ?? (pool === undefined ? undefined : decoded.pools?.[pool]?.protocol) ?? "http1"

const protocolOf = (
  decoded: DecodedConfig,
  backend: { readonly protocol?: BackendProtocol },
  pool: string | undefined
): "h2c" | "h2" | undefined => {
  const protocol = writtenProtocol(decoded, backend, pool)
  return protocol === "http1" ? undefined : protocol
}

/** A backend's URL scheme must fit its protocol; a gRPC health check needs HTTP/2 backends. */
const protocolProblems = (decoded: DecodedConfig, report: (path: ConfigPath, message: string) => void): void => {
  // A pool's `protocol` that fits none of its backends is one problem, not one per backend.
  const seen = new Set<string>()
  const at = (path: ConfigPath, message: string) => {
    const key = `${formatPath(path)} ${message}`
    if (seen.has(key)) return
    seen.add(key)
    report(path, message)
  }
  for (const { backend, path, pool } of backendEntries(decoded)) {
    const protocol = writtenProtocol(decoded, backend, pool)
    const where: ConfigPath = backend.protocol === undefined && pool !== undefined ? ["pools", pool, "protocol"] : [
      ...path,
      "protocol"
    ]
    const scheme = new URL(backend.url).protocol
    if (protocol === "h2c" && scheme !== "http:") {
      at(where, "h2c is HTTP/2 without TLS: expected http:// backend URLs (use h2 for https://)")
    }
    if (protocol === "h2" && scheme !== "https:") {
      at(where, "h2 is HTTP/2 over TLS: expected https:// backend URLs (use h2c for http://)")
    }
    const healthCheck = pool === undefined ? decoded.healthCheck : decoded.pools?.[pool]?.healthCheck
    if (healthCheck?.grpc === true && protocol === "http1") {
      at(
        [...path, "protocol"],
        `healthCheck.grpc probes over HTTP/2: expected protocol h2c or h2 for ${backend.name ?? backend.url}`
      )
    }
  }
}

/** The backends of every pool, with where each is written in the file. */
const backendEntries = (decoded: DecodedConfig) => [
  ...decoded.backends.map((backend, index) => ({ backend, pool: undefined, path: ["backends", index] as ConfigPath })),
  ...Object.entries(decoded.pools ?? {}).flatMap(([pool, settings]) =>
    settings.backends.map((backend, index) => ({
      backend,
      pool,
      path: ["pools", pool, "backends", index] as ConfigPath
    }))
  )
]

/**
 * A backend without a `name` is called by its `host:port`; no two backends, in any pools, may
 * share a name (it is the `backend` label of every metric and log line).
 */
const settleBackendNames = (
  decoded: DecodedConfig,
  source: Locator
): { readonly config: Config; readonly problems: ReadonlyArray<ConfigProblem> } => {
  const problems: Array<ConfigProblem> = []
  const seen = new Map<string, string>()
  const settle = ({ backend, path, pool }: ReturnType<typeof backendEntries>[number]): ConfiguredBackend => {
    const name = backend.name ?? new URL(backend.url).host
    const earlier = seen.get(name)
    if (earlier === undefined) seen.set(name, formatPath(path))
    else {
      const at: ConfigPath = backend.name === undefined ? [...path, "url"] : [...path, "name"]
      const hint = backend.name === undefined ? "; give each backend a distinct `name`" : ""
      problems.push({
        path: formatPath(at),
        message: `Duplicate backend name "${name}" (also ${earlier})${hint}`,
        ...source.locate(at)
      })
    }
    const { protocol: _written, ...rest } = backend
    const protocol = protocolOf(decoded, backend, pool)
    const spec = protocol === undefined ? { ...rest, name } : { ...rest, name, protocol }
    return pool === undefined ? spec : { ...spec, pool }
  }
  const entries = backendEntries(decoded).map((entry) => ({ ...entry, spec: settle(entry) }))
  const backends = entries.filter((entry) => entry.pool === undefined).map((entry) => entry.spec)
  const pools = decoded.pools === undefined
    ? undefined
    : Object.fromEntries(
      Object.entries(decoded.pools).map(([name, settings]) => [name, {
        ...settings,
        backends: entries.filter((entry) => entry.pool === name).map((entry) => entry.spec)
      }])
    )
  const { pools: _decodedPools, ...rest } = decoded
  return { config: pools === undefined ? { ...rest, backends } : { ...rest, backends, pools }, problems }
}
