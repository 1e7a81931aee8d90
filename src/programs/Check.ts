/**
 * `switchyard check`: validate a config without binding anything. As text, the normalised config
 * (defaults filled in, units in canonical form) on stdout, or every problem on stderr. As JSON, for
 * CI, one document on stdout either way: `{ valid: true, config }` or `{ valid: false, problems }`,
 * each problem `{ file, path, message }` with `line` and `column` when it is in the file, or
 * `envVar` when the value came from the environment. The exit code says which: 0 or 1.
 */
import { Console, Effect, Runtime, Schema } from "effect"
import { stringify } from "yaml"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { ConfigSchema } from "../domain/config/ConfigSchema.ts"
import type { ConfigError } from "../domain/Errors.ts"
import { readConfigFile } from "../layers/ProxyConfigLive.ts"

const encode = Schema.encodeSync(ConfigSchema)

export const renderConfig = (config: Config): string => stringify(encode(config))

/** The check failed and its problems are printed already: exit 1 without a word more. */
class ProblemsPrinted extends Schema.TaggedError<ProblemsPrinted>()("ProblemsPrinted", {}) {
  override readonly [Runtime.errorReported] = false
}

const json = (document: unknown) => Console.log(JSON.stringify(document, null, 2))

const problemsDocument = (error: ConfigError) => ({
  valid: false,
  problems: error.problems.map((problem) => ({ file: error.file, ...problem }))
})

export const check = (file: string, format: "text" | "json"): Effect.Effect<void, ConfigError | ProblemsPrinted> => {
  const config = readConfigFile(file, process.env)
  return format === "text"
    ? config.pipe(
      Effect.flatMap((config) => Console.log(renderConfig(config)).pipe(Effect.andThen(Console.error(`${file}: ok`))))
    )
    : config.pipe(
      Effect.matchEffect({
        onSuccess: (config) => json({ valid: true, config: encode(config) }),
        onFailure: (error) => json(problemsDocument(error)).pipe(Effect.andThen(Effect.fail(new ProblemsPrinted())))
      })
    )
}
