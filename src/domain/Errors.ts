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

/** A config that cannot be used, with every problem found in it (never just the first). */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    const count = this.problems.length === 1 ? "1 problem" : `${this.problems.length} problems`
    return [`invalid config ${this.file} (${count}):`, ...this.problems.map((p) => `  ${formatProblem(this.file, p)}`)]
      .join("\n")
  }
}

/** A listener could not bind its address (in use, not permitted, unknown host). */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  listener: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

/** The event journal's file could not be opened or written. */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  path: Schema.String,
  message: Schema.String
}) {}
