/**
 * `--variants FILE`: alternatives to the config that ran that are more than another strategy:
 * named sets of config sections laid over it (`outlierDetection` on, more retries, another
 * breaker). Each variant's sections are checked by the real config schema, as they would be in
 * the config file, and a section given replaces the config's whole (its defaults fill in what it
 * leaves out), so a variant means what the same lines would mean in the file.
 *
 * ```yaml
 * variants:
 *   - name: p2c with ejection
 *     strategy: p2c-ewma
 *     outlierDetection: { baseEjectionTime: 5s }
 *   - name: three attempts
 *     retry: { attempts: 3 }
 * ```
 */
import { Result, Schema } from "effect"
import type { Config } from "../../config/ConfigLoader.ts"
import { decodeConfig } from "../../config/ConfigLoader.ts"
import { inFileOrder, schemaProblems } from "../../config/Problems.ts"
import { parseYamlSource } from "../../config/YamlSource.ts"
import type { ConfigPath } from "../../config/YamlSource.ts"
import { ConfigError } from "../../Errors.ts"
import type { ConfigProblem } from "../../Errors.ts"
import { proxySections } from "../ScenarioSchema.ts"

export interface Variant {
  readonly name: string
  /** The config that ran with the variant's sections over it. */
  readonly apply: (config: Config) => Config
}

/** The keys a variant may set: the strategy and the sections a scenario's `proxy:` may hold. */
const variantKeys = ["strategy", ...proxySections] as const

const VariantsFile = Schema.Struct({
  variants: Schema.Array(
    Schema.Struct({
      name: Schema.String.check(Schema.isNonEmpty({ message: "Expected a name for the report" })),
      ...Object.fromEntries(variantKeys.map((key) => [key, Schema.optionalKey(Schema.Unknown)]))
    })
  ).check(Schema.isMinLength(1, { message: "Expected at least one variant" }))
})

const decodeFile = Schema.decodeUnknownResult(VariantsFile, { errors: "all", onExcessProperty: "error" })

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A backend the config schema needs; what a variant decodes is only its sections. */
const placeholderBackends = [{ name: "variant", url: "http://variant.invalid" }]

export const loadVariants = (input: {
  readonly file: string
  readonly text: string
  readonly env: Readonly<Record<string, string | undefined>>
}): Result.Result<ReadonlyArray<Variant>, ConfigError> => {
  const source = parseYamlSource(input.text, input.env)
  const fail = (problems: ReadonlyArray<ConfigProblem>) =>
    Result.fail(new ConfigError({ file: input.file, problems: inFileOrder(problems) }))
  if (source.syntaxProblems.length > 0) return fail(source.syntaxProblems)
  const decoded = decodeFile(source.value, { reportInput: true })
  // The sections are checked even when the file is not right: every problem at once.
  const problems: Array<ConfigProblem> = [
    ...source.unsetVariables,
    ...(Result.isFailure(decoded) ? schemaProblems(decoded.failure.issue, source.locate) : [])
  ]
  const raw: ReadonlyArray<unknown> = isRecord(source.value) && Array.isArray(source.value.variants)
    ? source.value.variants
    : []
  const variants = raw.map((entry, index): Variant => {
    const given: Readonly<Record<string, unknown>> = isRecord(entry) ? entry : {}
    const name = typeof given.name === "string" ? given.name : ""
    const keys = variantKeys.filter((key) => given[key] !== undefined)
    const sections = decodeConfig({
      file: input.file,
      env: {},
      value: { ...Object.fromEntries(keys.map((key) => [key, given[key]])), backends: placeholderBackends },
      source: {
        locate: (path: ConfigPath, options) => source.locate(["variants", index, ...path], options),
        unsetVariables: []
      }
    })
    if (Result.isFailure(sections)) {
      problems.push(...sections.failure.problems.map((problem) => ({
        ...problem,
        path: problem.path === "" ? `variants[${index}]` : `variants[${index}].${problem.path}`
      })))
      return { name, apply: (config) => config }
    }
    const chosen: Partial<Config> = Object.fromEntries(keys.map((key) => [key, sections.success[key]]))
    return { name, apply: (config) => ({ ...config, ...chosen }) }
  })
  return problems.length > 0 ? fail(problems) : Result.succeed(variants)
}
