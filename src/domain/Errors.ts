/**
 * The errors Switchyard can report, as tagged values carrying the facts needed to act on them.
 * The HTTP edge maps proxying failures to status codes in one place (`http/Failures.ts`); the
 * CLI prints `ConfigError` and exits 1.
 */
import { Schema } from "effect"

/** One thing wrong with a config: where it is (file position or env variable), which field, what was expected. */
export const ConfigProblem = Schema.Struct({
  /** `backends[1].weight`; empty for the document as a whole. */
  path: Schema.String,
  message: Schema.String,
  line: Schema.optionalKey(Schema.Int),
  column: Schema.optionalKey(Schema.Int),
  /** Set when the value came from an environment variable rather than the file. */
  envVar: Schema.optionalKey(Schema.String)
})
export type ConfigProblem = typeof ConfigProblem.Type

export const formatProblem = (file: string, problem: ConfigProblem): string => {
  const where = problem.envVar !== undefined
    ? `${problem.envVar} (environment)`
    : problem.line !== undefined
    ? `${file}:${problem.line}:${problem.column ?? 1}`
    : file
  return problem.path === "" ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`
}

/** `invalid config FILE (2 problems):` and one line per problem. */
const describeProblems = (kind: string, file: string, problems: ReadonlyArray<ConfigProblem>): string => {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`
  return [`invalid ${kind} ${file} (${count}):`, ...problems.map((p) => `  ${formatProblem(file, p)}`)].join("\n")
}

/** A config that cannot be used, with every problem found in it (never just the first). */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    return describeProblems("config", this.file, this.problems)
  }
}

/** A listener could not bind its address (in use, not permitted, unknown host). */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  listener: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

/** What a user reads when a listener cannot start. */
export const describeListenError = (error: ListenError): string =>
  `cannot start the ${error.listener} listener on ${error.host}:${error.port}: ${error.message}`

/** The event journal's file could not be opened or written. */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** A scenario for `switchyard simulate` that cannot be used, with every problem found in it. */
export class ScenarioError extends Schema.TaggedError<ScenarioError>()("ScenarioError", {
  file: Schema.String,
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    return describeProblems("scenario", this.file, this.problems)
  }
}

/** A traffic log that cannot be replayed: its first bad line, and the field. */
export class TrafficError extends Schema.TaggedError<TrafficError>()("TrafficError", {
  file: Schema.String,
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    return describeProblems("traffic log", this.file, this.problems)
  }
}

/** `switchyard simulate` was asked for what it cannot do: an unknown strategy, a chart it cannot write. */
export class SimulateError extends Schema.TaggedError<SimulateError>()("SimulateError", {
  message: Schema.String
}) {}

/** A backends-API request that cannot be applied as it stands, with every problem in it (400). */
export class InvalidBackendChange extends Schema.TaggedError<InvalidBackendChange>()("InvalidBackendChange", {
  problems: Schema.Array(ConfigProblem)
}) {}

/** No backend of that name (404): never configured, or already gone. */
export class UnknownBackend extends Schema.TaggedError<UnknownBackend>()("UnknownBackend", {
  name: Schema.String
}) {}

/** A valid request the running config cannot take (409): removing a pool's last backend. */
export class BackendChangeRefused extends Schema.TaggedError<BackendChangeRefused>()("BackendChangeRefused", {
  message: Schema.String
}) {}
