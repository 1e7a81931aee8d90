/**
 * A Schema decoding failure of a YAML file (the config, a scenario), as the problems a user
 * reads: field path, file position, and what was expected, with "did you mean" for a misspelt
 * key or choice (`strategy: weighted-round-robbin`); and the order they are listed in. Both files
 * read alike because both go through here.
 */
import { SchemaAST, SchemaIssue } from "effect"
import type { ConfigProblem } from "../Errors.ts"
import { formatPath } from "./YamlSource.ts"
import type { YamlSource } from "./YamlSource.ts"

const unknownKeyPrefix = "Unknown key"

const unknownKeyMessage = (issue: SchemaIssue.UnexpectedKey): string => {
  const known = SchemaAST.isObjects(issue.ast)
    ? issue.ast.propertySignatures.map((signature) => String(signature.name))
    : []
  return known.length === 0 ? unknownKeyPrefix : `${unknownKeyPrefix}; expected one of: ${known.join(", ")}`
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    switch (issue._tag) {
      case "MissingKey":
        return "Missing required key"
      case "UnexpectedKey":
        return unknownKeyMessage(issue)
      default:
        return SchemaIssue.defaultLeafHook(issue)
    }
  }
})

/**
 * One problem per failed field. A field in `overridden` (path → environment variable) came from
 * the environment, not the file: it is named by its variable instead of a position.
 */
export const schemaProblems = (
  issue: SchemaIssue.Issue,
  locate: YamlSource["locate"],
  overridden: ReadonlyMap<string, string> = new Map()
): Array<ConfigProblem> =>
  formatter(issue).issues.map(({ message, path: rawPath }) => {
    const path = (rawPath ?? []).map((segment) =>
      typeof segment === "object" ? String(segment.key) : typeof segment === "number" ? segment : String(segment)
    )
    const text = formatPath(path)
    const isUnknownKey = message.startsWith(unknownKeyPrefix)
    const detail = isUnknownKey
      ? withSuggestion(message, String(path[path.length - 1]), message.split("expected one of: ")[1]?.split(", ") ?? [])
      : withChoiceSuggestion(message)
    const envVar = overridden.get(text)
    if (envVar !== undefined) return { path: text, message: detail, envVar }
    const at = locate(path, { key: isUnknownKey })
    return at === undefined ? { path: text, message: detail } : { path: text, message: detail, ...at }
  })

/**
 * A choice among strings that was missed, as Schema words it: `Expected "a" | "b", got "x"`.
 * Read from the message because Schema renders a union that nothing matched itself, without
 * the leaf hook.
 */
const missedChoice = /^Expected ((?:"[^"]*" \| )*"[^"]*"), got "([^"]*)"$/

const withChoiceSuggestion = (message: string): string => {
  const [, choices, given] = missedChoice.exec(message) ?? []
  return choices === undefined || given === undefined
    ? message
    : withSuggestion(message, given, choices.split(" | ").map((choice) => choice.slice(1, -1)))
}

/** Adds "did you mean" for a near-miss of a known name (a typo or wrong case): the nearest one. */
const withSuggestion = (message: string, name: string, known: ReadonlyArray<string>): string => {
  let close: string | undefined
  let closest = 3
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(candidate, name)
    if (distance < closest) {
      close = candidate
      closest = distance
    }
  }
  return close === undefined ? message : `${message} (did you mean "${close}"?)`
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** In the order of the file; problems without a position (the environment's) first. */
export const inFileOrder = (problems: ReadonlyArray<ConfigProblem>): ReadonlyArray<ConfigProblem> =>
  problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) =>
      (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
      (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
      a.index - b.index
    )
    .map(({ problem }) => problem)
