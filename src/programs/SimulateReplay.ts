/**
 * `switchyard simulate --traffic LOG [--journal FILE] [--config FILE]`: yesterday's traffic
 * through another strategy. Composition only: the log is read once to observe and to fit the
 * backends (`domain/sim/replay/TrafficLog.ts`), the journal scripts their down periods
 * (`JournalScript.ts`), and then, for the config that ran and each alternative, the same lab as a
 * scenario's (`runWorkload`) replays the log's requests, read again each time
 * (`ReplayTraffic.ts`, `lab/LogLines.ts`). The report opens with the calibration.
 */
import { Console, Effect, Result } from "effect"
import { readFile } from "node:fs/promises"
import { defaultPool } from "../domain/Backend.ts"
import type { BackendPolicy } from "../domain/BackendPolicy.ts"
import { decodeConfig, loadConfig } from "../domain/config/ConfigLoader.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { ConfigError, JournalError, SimulateError, TrafficError } from "../domain/Errors.ts"
import type { ConfigProblem } from "../domain/Errors.ts"
import { strategyNames } from "../domain/selection/Strategies.ts"
import { defaultFitSettings } from "../domain/sim/replay/BackendFit.ts"
import { scriptOf } from "../domain/sim/replay/JournalScript.ts"
import type { JournalScript } from "../domain/sim/replay/JournalScript.ts"
import { decodeLogLine } from "../domain/sim/replay/LogLine.ts"
import type { LoggedRequest } from "../domain/sim/replay/LogLine.ts"
import { modelBackends } from "../domain/sim/replay/ReplayModel.ts"
import { buildReplayReport, ranLabel } from "../domain/sim/replay/ReplayReport.ts"
import { replayWorkload } from "../domain/sim/replay/ReplayTraffic.ts"
import { makeTrafficReader } from "../domain/sim/replay/TrafficLog.ts"
import { loadVariants } from "../domain/sim/replay/Variants.ts"
import type { LineReader } from "../lab/LogLines.ts"
import { openLines } from "../lab/LogLines.ts"
import { renderReplayTable } from "../lab/ReplayText.ts"
import { renderJson } from "../lab/ReportText.ts"
import { parseJournal } from "./Replay.ts"
import { chartTarget, parseStrategies, runWorkload, writeChart } from "./Simulate.ts"

export interface ReplayOptions {
  readonly traffic: string
  readonly journal: string | undefined
  readonly config: string | undefined
  /** Comma-separated alternatives; absent: every other strategy, unless `variants` are given. */
  readonly strategies: string | undefined
  /** A file of `variants:`, config sections laid over the config that ran. */
  readonly variants: string | undefined
  readonly seed: number
  readonly format: "table" | "json"
  readonly chart: string | undefined
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * The log's requests, in file order, each line decoded; a line that is not one (another log
 * line, a blank) is passed over. The first bad line stops it, unless it is the last and cut
 * short (the process died mid-write), which `onCutShort` is told of.
 */
const requestsOf = (
  lines: LineReader,
  onProblems: (problems: ReadonlyArray<ConfigProblem>) => void,
  onCutShort: () => void
) =>
(): LoggedRequest | undefined => {
  for (let text = lines.next(); text !== undefined; text = lines.next()) {
    const decoded = decodeLogLine(text, lines.lineNumber())
    if (Result.isSuccess(decoded)) {
      if (decoded.success !== undefined) return decoded.success
    } else if (lines.unterminated()) {
      onCutShort()
    } else {
      lines.close()
      onProblems(decoded.failure)
      return undefined
    }
  }
  return undefined
}

const open = (file: string) =>
  Effect.try({
    try: () => openLines(file),
    catch: (error) =>
      new TrafficError({ file, problems: [{ path: "", message: `cannot read the file: ${messageOf(error)}` }] })
  })

const readJournal = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) => new JournalError({ path: file, message: messageOf(error) })
  }).pipe(Effect.flatMap((text) => {
    const parsed = parseJournal(text)
    return parsed.problems.length > 0
      ? Effect.fail(new JournalError({ path: file, message: parsed.problems.join("\n") }))
      : Effect.succeed(parsed.events)
  }))

const readText = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new ConfigError({ file, problems: [{ path: "", message: `cannot read the file: ${messageOf(error)}` }] })
  })

const readConfig = (file: string) =>
  readText(file).pipe(Effect.flatMap((text) => Effect.fromResult(loadConfig({ file, text, env: process.env }))))

const readVariants = (file: string) =>
  readText(file).pipe(Effect.flatMap((text) => Effect.fromResult(loadVariants({ file, text, env: process.env }))))

/** The config's one pool as the lab's default pool: its backends, strategy and health checks. */
const poolConfig = (config: Config, pool: string): Config | undefined => {
  const { pools, routes: _routes, healthCheck, ...rest } = config
  // Routes lead to pools; the lab sends every request to the one pool it replays.
  const chosen = pool === defaultPool
    ? { strategy: config.strategy, backends: config.backends, healthCheck }
    : pools?.[pool]
  if (chosen === undefined) return undefined
  return {
    ...rest,
    strategy: chosen.strategy,
    // As members of the lab's one pool; the members DNS discovery found then are not in the config.
    backends: chosen.backends.flatMap(({ discovery, pool: _pool, ...spec }) => discovery === undefined ? [spec] : []),
    ...(chosen.healthCheck === undefined ? {} : { healthCheck: chosen.healthCheck })
  }
}

/** A config of the pool's members as the journal recorded them, with the probes and breaker their policy had. */
const journalConfig = (file: string, script: JournalScript, pool: string) => {
  const members = script.members.filter((member) => (member.spec.pool ?? defaultPool) === pool)
  const policy: BackendPolicy | undefined = members[0]?.policy
  if (policy === undefined) {
    return Effect.fail(new SimulateError({ message: `the journal ${file} has no backend of pool ${pool}` }))
  }
  const ms = (value: number) => `${value}ms`
  return Effect.fromResult(decodeConfig({
    file,
    env: {},
    value: {
      backends: members.map(({ spec }) => ({
        name: spec.name,
        url: spec.url,
        weight: spec.weight,
        ...(spec.maxConnections === undefined ? {} : { maxConnections: spec.maxConnections })
      })),
      ...(policy.probe === undefined ? {} : {
        healthCheck: {
          path: policy.probe.path,
          interval: ms(policy.probe.intervalMs),
          timeout: ms(policy.probe.timeoutMs),
          healthyThreshold: policy.healthyThreshold,
          unhealthyThreshold: policy.unhealthyThreshold
        }
      }),
      circuitBreaker: {
        failureThreshold: policy.failureThreshold,
        resetTimeout: ms(policy.resetTimeoutMs),
        halfOpenRequests: policy.halfOpenRequests
      }
    }
  }))
}

export const simulateReplay = (options: ReplayOptions) =>
  Effect.gen(function*() {
    const chart = yield* chartTarget(options.chart)
    const alternatives = options.strategies === undefined ? undefined : yield* parseStrategies(options.strategies)
    const variants = options.variants === undefined ? [] : yield* readVariants(options.variants)
    const script = scriptOf(options.journal === undefined ? [] : yield* readJournal(options.journal))
    if (options.config === undefined && options.journal === undefined) {
      return yield* new SimulateError({
        message: "--traffic needs the proxy's config: --config FILE, or --journal FILE for its backends"
      })
    }

    // The first read: observe and fit.
    const reader = makeTrafficReader(script.downs)
    let problems: ReadonlyArray<ConfigProblem> = []
    let cutShort = false
    const lines = yield* open(options.traffic)
    const next = requestsOf(lines, (found) => problems = found, () => cutShort = true)
    for (let request = next(); request !== undefined; request = next()) reader.add(request)
    if (problems.length > 0) return yield* new TrafficError({ file: options.traffic, problems })
    if (cutShort) yield* Console.error(`${options.traffic}: the last line is incomplete and was skipped`)
    const traffic = reader.summary()
    const [pool, observed] = [...traffic.pools].sort(([, a], [, b]) => b.requests - a.requests)[0] ?? []
    if (pool === undefined || observed === undefined) {
      return yield* new SimulateError({ message: `${options.traffic}: no access-log line of a proxied request` })
    }

    const whole = options.config === undefined ? undefined : yield* readConfig(options.config)
    const config = whole === undefined
      ? yield* journalConfig(options.journal ?? "", script, pool)
      : poolConfig(whole, pool)
    if (config === undefined) {
      return yield* new SimulateError({ message: `the log's pool ${pool} is not in the config ${options.config}` })
    }

    const modelled = modelBackends({
      names: config.backends.map((backend) => backend.name),
      fitted: traffic.fitter.fitted(),
      downs: script.downs,
      aliveAt: traffic.aliveAt,
      startMs: traffic.startMs,
      points: defaultFitSettings.points
    })
    const workload = replayWorkload({
      open: () => requestsOf(openLines(options.traffic), () => undefined, () => undefined),
      pool,
      startMs: traffic.startMs,
      maxDurationMs: traffic.maxDurationMs,
      meanAfterMs: traffic.meanAfterMs,
      backends: modelled.map((model) => model.backend),
      expectedRequests: observed.requests
    })
    const others = alternatives ?? (variants.length > 0 ? [] : strategyNames)
    const configs = [
      { label: ranLabel(config.strategy), config },
      ...others.filter((name) => name !== config.strategy).map((strategy) => ({
        label: strategy,
        config: { ...config, strategy }
      })),
      ...variants.map((variant) => ({ label: variant.name, config: variant.apply(config) }))
    ]
    const runs = yield* Effect.forEach(configs, ({ config, label }) =>
      runWorkload(config, workload, options.seed).pipe(Effect.map((run) => ({ ...run, strategy: label }))))
    const report = buildReplayReport({
      summary: {
        traffic: options.traffic,
        journal: options.journal ?? null,
        config: options.config ??
          `from the journal's members (its probes and breaker; strategy ${config.strategy} assumed, the rest default)`,
        pool,
        requests: observed.requests,
        skipped: traffic.skipped,
        otherPools: [...traffic.pools].filter(([name]) =>
          name !== pool
        ).map(([name, other]) => ({
          pool: name,
          requests: other.requests
        })),
        windowMs: defaultFitSettings.windowMs,
        unseen: modelled.filter((model) => model.answers === 0).map((model) => model.backend.name)
      },
      traffic,
      observed,
      backends: modelled,
      weights: new Map(config.backends.map((backend) => [backend.name, backend.weight])),
      journalTransitions: script.transitions,
      runs,
      seed: options.seed
    })
    yield* Console.log(options.format === "json" ? renderJson(report) : renderReplayTable(report))
    if (chart !== undefined) yield* writeChart(chart, report)
  })
