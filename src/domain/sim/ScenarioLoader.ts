/**
 * Scenario text → a `Scenario`, or every problem with it, each with its file position, field
 * path and what was expected. Pure: the caller reads the file.
 *
 * Two schemas check one file. The scenario's own (`ScenarioSchema`) checks the backends' models
 * and the traffic; the real config schema (`decodeConfig`) checks the `proxy:` sections and each
 * backend's `weight` and `maxConnections`, as the config it builds from them: so a scenario's
 * proxy settings are valid exactly when they would be in a config file, and mean the same. Its
 * problems are placed in the scenario file (`proxy.retry.attempts`, `backends[1].weight`).
 */
import { Duration, Result, Schema } from "effect"
import type { Config } from "../config/ConfigLoader.ts"
import { decodeConfig } from "../config/ConfigLoader.ts"
import { inFileOrder, schemaProblems } from "../config/Problems.ts"
import { formatPath, parseYamlSource } from "../config/YamlSource.ts"
import type { ConfigPath, YamlSource } from "../config/YamlSource.ts"
import type { ConfigProblem } from "../Errors.ts"
import { ScenarioError } from "../Errors.ts"
import type { StrategyName } from "../selection/Strategies.ts"
import type { SimulatedBackend } from "./BackendModel.ts"
import type { Latency } from "./Distributions.ts"
import { lognormalFromPercentiles } from "./Distributions.ts"
import { latencyKinds, proxySections, ScenarioSchema } from "./ScenarioSchema.ts"
import type { DecodedScenario, LatencyMode, LatencySpec } from "./ScenarioSchema.ts"
import type { TrafficSettings } from "./Traffic.ts"

export interface Scenario {
  readonly description: string | undefined
  readonly traffic: TrafficSettings
  readonly backends: ReadonlyArray<SimulatedBackend>
  /** The scenario's own choice of strategies to compare, if it makes one. */
  readonly strategies: ReadonlyArray<StrategyName> | undefined
  /** The proxy under test, as a real config of one pool; each run sets its `strategy`. */
  readonly config: Config
}

export interface ScenarioInput {
  readonly file: string
  readonly text: string
  /** For `${NAME}` references, as in a config file. */
  readonly env: Readonly<Record<string, string | undefined>>
}

const decodeScenario = Schema.decodeUnknownResult(ScenarioSchema, { errors: "all", onExcessProperty: "error" })

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

export const loadScenario = (input: ScenarioInput): Result.Result<Scenario, ScenarioError> => {
  const source = parseYamlSource(input.text, input.env)
  const fail = (problems: ReadonlyArray<ConfigProblem>) =>
    Result.fail(new ScenarioError({ file: input.file, problems: inFileOrder(distinct(problems)) }))
  if (source.syntaxProblems.length > 0) return fail(source.syntaxProblems)
  const value = source.value
  if (value === undefined || value === null) {
    return fail([{ path: "", message: "the file is empty; expected `traffic:` and `backends:`" }])
  }
  if (!isRecord(value)) {
    return fail([{
      path: "",
      message: "Expected a mapping of keys (traffic, backends, proxy, ...) at the top level",
      line: 1
    }])
  }

  const decoded = decodeScenario(value, { reportInput: true })
  const config = decodeConfig({ file: input.file, value: configInput(value), env: {}, source: proxyLocator(source) })
  const configProblems = Result.isFailure(config) ? config.failure.problems.map(inScenario) : []
  const unset = source.unsetVariables
  const unsetPaths = new Set(unset.map((problem) => problem.path))
  if (Result.isFailure(decoded)) {
    const problems = [...schemaProblems(decoded.failure.issue, source.locate), ...configProblems]
    return fail([...unset, ...problems.filter((problem) => !unsetPaths.has(problem.path))])
  }
  const built = buildScenario(decoded.success, source.locate)
  const problems = [...unset, ...built.problems, ...configProblems]
  if (problems.length > 0 || Result.isFailure(config)) return fail(problems)
  return Result.succeed({ ...built.scenario, config: config.success })
}

/**
 * The config the `proxy:` sections and the backends make: one pool, each backend at an address
 * of its own that nothing ever connects to (the lab answers for it).
 */
const configInput = (scenario: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const proxy = isRecord(scenario.proxy) ? scenario.proxy : {}
  const sections = Object.fromEntries(proxySections.filter((key) => key in proxy).map((key) => [key, proxy[key]]))
  const raw = scenario.backends
  const backends = Array.isArray(raw) && raw.length > 0
    ? raw.map((backend: unknown, index) => {
      const given = isRecord(backend) ? backend : {}
      const keys = ["name", "weight", "maxConnections"].filter((key) => given[key] !== undefined)
      return { url: `http://backend-${index}.sim`, ...Object.fromEntries(keys.map((key) => [key, given[key]])) }
    })
    // The scenario schema reports what is wrong with the list itself.
    : [{ url: "http://backend-0.sim" }]
  return { ...sections, backends }
}

/** Config paths in the scenario file: the backends' keys are where they are, the rest under `proxy`. */
const scenarioPath = (path: ConfigPath): ConfigPath => path[0] === "backends" ? path : ["proxy", ...path]

const proxyLocator = (source: YamlSource): Pick<YamlSource, "locate" | "unsetVariables"> => ({
  locate: (path, options) => source.locate(scenarioPath(path), options),
  unsetVariables: []
})

const inScenario = (problem: ConfigProblem): ConfigProblem =>
  problem.path === "" || problem.path.startsWith("backends") ? problem : { ...problem, path: `proxy.${problem.path}` }

/** The same problem found by both schemas is reported once. */
const distinct = (problems: ReadonlyArray<ConfigProblem>): ReadonlyArray<ConfigProblem> => {
  const seen = new Set<string>()
  return problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

type Locate = YamlSource["locate"]

/** The decoded file as the lab's model, and the rules between fields that the schema cannot state. */
const buildScenario = (
  decoded: DecodedScenario,
  locate: Locate
): { readonly scenario: Omit<Scenario, "config">; readonly problems: ReadonlyArray<ConfigProblem> } => {
  const problems: Array<ConfigProblem> = []
  const problem = (path: ConfigPath, message: string) =>
    problems.push({ path: formatPath(path), message, ...locate(path) })
  const backends = decoded.backends.map((backend, index): SimulatedBackend => {
    const at: ConfigPath = ["backends", index]
    const changes = backend.changes ?? []
    changes.forEach((change, i) => {
      if (
        change.slowdown === undefined && change.errorPercent === undefined && change.resetPercent === undefined &&
        change.overloadPercent === undefined && change.down === undefined
      ) {
        problem(
          [...at, "changes", i],
          "Expected slowdown, errorPercent, resetPercent, overloadPercent or down: what changes"
        )
      }
      const previous = changes[i - 1]
      if (previous !== undefined && Duration.isLessThan(change.at, previous.at)) {
        problem([...at, "changes", i, "at"], "Expected changes in time order; this one is earlier than the one before")
      }
    })
    return {
      name: backend.name,
      latency: latencyOf(backend.latency, [...at, "latency"], problem, true),
      errorFraction: backend.errorPercent / 100,
      resetFraction: backend.resetPercent / 100,
      overloadFraction: backend.overloadPercent / 100,
      retryAfterMs: Duration.toMillis(backend.retryAfter),
      capacity: backend.capacity,
      changes: changes.map((change) => ({
        atMs: Duration.toMillis(change.at),
        ...(change.slowdown === undefined ? {} : { slowdown: change.slowdown }),
        ...(change.errorPercent === undefined ? {} : { errorFraction: change.errorPercent / 100 }),
        ...(change.resetPercent === undefined ? {} : { resetFraction: change.resetPercent / 100 }),
        ...(change.overloadPercent === undefined ? {} : { overloadFraction: change.overloadPercent / 100 }),
        ...(change.down === undefined ? {} : { down: change.down })
      }))
    }
  })
  backends.forEach((backend, index) => {
    const timeline = [backend, ...backend.changes]
    let errorFraction = backend.errorFraction
    let resetFraction = backend.resetFraction
    let overloadFraction = backend.overloadFraction
    timeline.forEach((step, i) => {
      errorFraction = step.errorFraction ?? errorFraction
      resetFraction = step.resetFraction ?? resetFraction
      overloadFraction = step.overloadFraction ?? overloadFraction
      if (errorFraction + resetFraction + overloadFraction > 1 + 1e-9) {
        const at: ConfigPath = i === 0 ? ["backends", index, "resetPercent"] : ["backends", index, "changes", i - 1]
        problem(at, "Expected errorPercent + resetPercent + overloadPercent to be at most 100")
      }
    })
  })
  const { traffic } = decoded
  return {
    scenario: {
      description: decoded.description,
      traffic: {
        durationMs: Duration.toMillis(traffic.duration),
        ratePerSecond: traffic.rate,
        arrivals: traffic.arrivals,
        clients: traffic.clients,
        postFraction: traffic.postPercent / 100,
        hotClientFraction: traffic.hotClientPercent / 100
      },
      backends,
      strategies: decoded.strategies
    },
    problems
  }
}

const placeholder: Latency = { _tag: "Fixed", ms: 0 }

/**
 * The latency a spec describes, with a problem for each rule it breaks (exactly one kind; both
 * percentiles or both parameters of a lognormal; `max` at least `min`). A broken spec gives a
 * placeholder: the scenario is rejected anyway.
 */
const latencyOf = (
  spec: typeof LatencySpec.Type | typeof LatencyMode.Type,
  at: ConfigPath,
  problem: (path: ConfigPath, message: string) => void,
  bimodalAllowed: boolean
): Latency => {
  const kinds = bimodalAllowed ? latencyKinds : latencyKinds.filter((kind) => kind !== "bimodal")
  const given = kinds.filter((kind) => kind in spec)
  const expected = `${kinds.slice(0, -1).join(", ")} or ${kinds[kinds.length - 1]}`
  if (given.length !== 1) {
    problem(
      at,
      given.length === 0
        ? `Expected one of ${expected}`
        : `Expected only one of ${expected}, got ${given.join(" and ")}`
    )
    return placeholder
  }
  if (spec.fixed !== undefined) return { _tag: "Fixed", ms: Duration.toMillis(spec.fixed) }
  if (spec.uniform !== undefined) {
    const minMs = Duration.toMillis(spec.uniform.min)
    const maxMs = Duration.toMillis(spec.uniform.max)
    if (maxMs < minMs) problem([...at, "uniform", "max"], "Expected at least min")
    return { _tag: "Uniform", minMs, maxMs }
  }
  if (spec.lognormal !== undefined) {
    const { median, mu, p99, sigma } = spec.lognormal
    if (median !== undefined && p99 !== undefined && mu === undefined && sigma === undefined) {
      const medianMs = Duration.toMillis(median)
      const p99Ms = Duration.toMillis(p99)
      if (p99Ms <= medianMs) {
        problem([...at, "lognormal", "p99"], "Expected more than the median")
        return placeholder
      }
      return lognormalFromPercentiles(medianMs, p99Ms)
    }
    if (mu !== undefined && sigma !== undefined && median === undefined && p99 === undefined) {
      return { _tag: "Lognormal", mu, sigma }
    }
    problem([...at, "lognormal"], "Expected either median and p99, or mu and sigma (of the log of the latency in ms)")
    return placeholder
  }
  if ("bimodal" in spec && spec.bimodal !== undefined) {
    const { fast, slow, slowPercent } = spec.bimodal
    return {
      _tag: "Bimodal",
      fast: latencyOf(fast, [...at, "bimodal", "fast"], problem, false),
      slow: latencyOf(slow, [...at, "bimodal", "slow"], problem, false),
      slowFraction: slowPercent / 100
    }
  }
  return placeholder
}
