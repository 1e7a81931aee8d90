/**
 * The `switchyard` command line, run by `main.ts`. Each subcommand is a program from `programs/`;
 * this file only parses arguments, reports failures in words, and sets the exit code: 0 on
 * success and on SIGTERM/SIGINT (a graceful stop is not an error), 1 on any failure. A usage
 * error is one line on stderr (`CliUsage.ts`).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Layer, Option, Runtime, Schema } from "effect"
import { Argument, CliConfig, Command, Completions, Flag, GlobalFlag } from "effect/cli"
import { ServeError } from "effect/http/HttpServerError"
import { CliUsageLive } from "./CliUsage.ts"
import {
  ConfigError,
  describeListenError,
  JournalError,
  ListenError,
  ScenarioError,
  SimulateError,
  TrafficError
} from "./domain/Errors.ts"
import { version } from "./version.ts"

/**
 * Runs a program from a module loaded only when its command runs: a proxy started with `serve`
 * never holds the strategy lab, the demo's backends or the journal reader in memory.
 */
/** Flags that go together or exclude each other, which the parser cannot see: told as its own usage errors are. */
class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  command: Schema.String,
  problem: Schema.String
}) {}

const loaded = <Module, A, E, R>(load: () => Promise<Module>, run: (module: Module) => Effect.Effect<A, E, R>) =>
  Effect.promise(load).pipe(Effect.flatMap(run))

const configFlag = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withDescription("the config file, YAML or JSON (default: ./config.yaml)"),
  Flag.withDefault("./config.yaml")
)

const serveCommand = Command.make(
  "serve",
  { config: configFlag },
  ({ config }) => loaded(() => import("./programs/Serve.ts"), ({ serve }) => serve(config))
).pipe(
  Command.withDescription("Run the proxy from a config file until SIGTERM or SIGINT; SIGHUP reloads the file")
)

const checkCommand = Command.make(
  "check",
  {
    config: configFlag,
    format: Flag.Literals("format", ["text", "json"]).pipe(
      Flag.withDescription(
        "text: the config as YAML, or one file:line:column line per problem; json: one document on stdout, for CI (default: text)"
      ),
      Flag.withDefault("text")
    )
  },
  ({ config, format }) => loaded(() => import("./programs/Check.ts"), ({ check }) => check(config, format))
).pipe(
  Command.withDescription(
    "Validate a config file without starting anything: print it normalised (exit 0) or every problem (exit 1)"
  )
)

const schemaCommand = Command.make(
  "schema",
  {},
  () => loaded(() => import("./programs/Schema.ts"), ({ schema }) => schema)
).pipe(
  Command.withDescription("Print the config file's JSON Schema (draft 2020-12), for editors and CI")
)

const demoCommand = Command.make("demo", {}, () => loaded(() => import("./programs/Demo.ts"), ({ demo }) => demo)).pipe(
  Command.withDescription(
    "Start three demo backends, the proxy on :8080 and the admin API on :9090 (LB_PORT, LB_ADMIN_PORT move them)"
  )
)

const replayCommand = Command.make(
  "replay",
  {
    file: Argument.String("file").pipe(Argument.withDescription("an event journal (the config's `journal` file)")),
    format: Flag.Literals("format", ["text", "json"]).pipe(
      Flag.withDescription("text for people, json for tools (default: text)"),
      Flag.withDefault("text")
    )
  },
  ({ file, format }) => loaded(() => import("./programs/Replay.ts"), ({ replayJournal }) => replayJournal(file, format))
).pipe(
  Command.withDescription("Fold an event journal and print each backend's health and circuit timeline")
)

/** A flag that may be left out, with what it is for. */
const optionalFlag = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const simulateCommand = Command.make(
  "simulate",
  {
    scenario: optionalFlag("scenario", "the scenario file (YAML): simulated backends, traffic, proxy settings"),
    traffic: optionalFlag("traffic", "instead of a scenario, replay this access log (logging.access, format json)"),
    journal: optionalFlag("journal", "with --traffic: the event journal of that run (backends' down periods, members)"),
    config: optionalFlag("config", "with --traffic: the config that ran (default: the journal's backends)"),
    strategies: optionalFlag(
      "strategies",
      "strategies to compare, comma-separated (default: the scenario's list, or all; with --traffic: every other)"
    ),
    variants: optionalFlag(
      "variants",
      "with --traffic: a YAML file of `variants:`, config sections laid over the config that ran"
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("the random seed: the same seed, the same output (default: 1)"),
      Flag.withDefault(1)
    ),
    format: Flag.Literals("format", ["table", "json"]).pipe(
      Flag.withDescription("table for people, json for tools (default: table)"),
      Flag.withDefault("table")
    ),
    chart: optionalFlag("chart", "also draw latency over time per strategy into this .svg or .html file")
  },
  ({ chart, config, format, journal, scenario, seed, strategies, traffic, variants }): Effect.Effect<
    void,
    ConfigError | JournalError | ScenarioError | SimulateError | TrafficError | UsageError
  > => {
    const common = {
      strategies: Option.getOrUndefined(strategies),
      seed,
      format,
      chart: Option.getOrUndefined(chart)
    }
    if (Option.isSome(traffic)) {
      return Option.isSome(scenario)
        ? Effect.fail(new UsageError({ command: "simulate", problem: "--scenario and --traffic: give one, not both" }))
        : loaded(() => import("./programs/SimulateReplay.ts"), ({ simulateReplay }) =>
          simulateReplay({
            ...common,
            traffic: traffic.value,
            journal: Option.getOrUndefined(journal),
            config: Option.getOrUndefined(config),
            variants: Option.getOrUndefined(variants)
          }))
    }
    if (Option.isNone(scenario)) {
      return Effect.fail(
        new UsageError({ command: "simulate", problem: "missing required flag: --scenario (or --traffic)" })
      )
    }
    if (Option.isSome(journal) || Option.isSome(config) || Option.isSome(variants)) {
      return Effect.fail(
        new UsageError({ command: "simulate", problem: "--journal, --config and --variants go with --traffic" })
      )
    }
    return loaded(
      () => import("./programs/Simulate.ts"),
      ({ simulate }) => simulate({ ...common, scenario: scenario.value })
    )
  }
).pipe(
  Command.withDescription(
    "Compare strategies on simulated backends under a virtual clock, deterministically; or replay an access log through them"
  )
)

/** The whole tree, this command included; the declared type breaks the cycle of inferring each from the other. */
const commandTree = (): Command.Command.Any => switchyard

const completionCommand = Command.make(
  "completion",
  { shell: Argument.Literals("shell", ["bash", "zsh", "fish", "powershell"]) },
  ({ shell }) => Console.log(Completions.generate("switchyard", shell, Completions.fromCommand(commandTree())))
).pipe(
  Command.withDescription("Print the shell completion script, e.g. switchyard completion bash >> ~/.bashrc")
)

const switchyard = Command.make("switchyard").pipe(
  Command.withDescription("An event-sourced HTTP reverse proxy and load balancer"),
  Command.withSubcommands([
    serveCommand,
    checkCommand,
    schemaCommand,
    demoCommand,
    replayCommand,
    simulateCommand,
    completionCommand
  ])
)

/** One readable line (or block) for each failure a user can cause; a stack only for bugs. */
const describe = (cause: Cause.Cause<unknown>): string | undefined => {
  if (Cause.hasInterruptsOnly(cause)) return undefined
  const found = Cause.findErrorOption(cause)
  const error: unknown = found._tag === "Some" ? found.value : undefined
  // Shown already: a usage error or help by the CLI library, `check --format json`'s problems.
  if (!Runtime.getErrorReported(error)) return undefined
  if (error instanceof ConfigError) return error.message
  if (error instanceof ListenError) return describeListenError(error)
  if (error instanceof ServeError) return `cannot start the admin listener: ${String(error.cause)}`
  if (error instanceof JournalError) return `journal ${error.path}: ${error.message}`
  if (error instanceof ScenarioError || error instanceof TrafficError) return error.message
  if (error instanceof SimulateError) return `simulate: ${error.message}`
  if (error instanceof UsageError) {
    return `switchyard ${error.command}: ${error.problem}; see switchyard ${error.command} --help`
  }
  return Cause.pretty(cause)
}

const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

/**
 * `--help` and `--version` only: the library's `--log-level` would be overridden by the config's
 * `logging.level`, its `--completions` is the `completion` command, and its `--wizard` prompts,
 * which a proxy's command line has no use for.
 */
const CliLive = Layer.mergeAll(
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
  CliUsageLive,
  NodeServices.layer
)

Command.run(switchyard, { version }).pipe(
  Effect.tapCause((cause) => {
    const text = describe(cause)
    return text === undefined ? Effect.void : Console.error(text)
  }),
  Effect.provide(CliLive),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
