/**
 * A config file parsed as YAML (JSON is YAML too) with its source positions kept, so that every
 * problem found later, by the schema or by cross-field checks, can point at a line and column.
 *
 * `${NAME}` in a string value is replaced from the environment here, before decoding, so secrets
 * stay out of the file; `$${` writes a literal `${`. A value that is exactly `${NAME}` takes the
 * variable's type when it reads as a number or boolean (`port: ${PORT}` is a port).
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml"
import type { Document, Scalar } from "yaml"
import type { ConfigProblem } from "../Errors.ts"

export type ConfigPath = ReadonlyArray<string | number>

export interface YamlSource {
  /** The plain value of the document (after interpolation); `undefined` for an empty file. */
  readonly value: unknown
  /** YAML syntax problems; when there are any, `value` is `undefined`. */
  readonly syntaxProblems: ReadonlyArray<ConfigProblem>
  /**
   * `${NAME}` references to unset variables. Decoding still goes on (every problem at once), with
   * the reference left in place; a schema complaint about that same field would only repeat this.
   */
  readonly unsetVariables: ReadonlyArray<ConfigProblem>
  /**
   * Line and column of the node at `path`; with `key: true`, of the key naming it. For a path
   * that does not exist (a missing key), the position of the nearest enclosing node that does.
   */
  readonly locate: (path: ConfigPath, options?: { readonly key?: boolean }) => {
    readonly line: number
    readonly column: number
  } | undefined
}

export const formatPath = (path: ConfigPath): string =>
  path.reduce<string>(
    (text, segment) =>
      typeof segment === "number" ? `${text}[${segment}]` : text === "" ? segment : `${text}.${segment}`,
    ""
  )

const variable = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const wholeVariable = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/

/** How an environment variable's text reads when it is a whole value: number, boolean or string. */
export const scalarFromText = (text: string): string | number | boolean => {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  if (text === "true" || text === "false") return text === "true"
  return text
}

export const parseYamlSource = (
  text: string,
  env: Readonly<Record<string, string | undefined>>
): YamlSource => {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const syntaxProblems: Array<ConfigProblem> = doc.errors.map((error) => {
    const at = position(error.pos[0])
    return { path: "", message: `YAML: ${firstLine(error.message)}`, line: at.line, column: at.column }
  })
  const unsetVariables = syntaxProblems.length === 0 ? interpolate(doc, env, position) : []

  const locate = (path: ConfigPath, options?: { readonly key?: boolean }) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth)
      const node = nodeAt(doc, prefix, depth === path.length && options?.key === true)
      if (node?.range) return position(node.range[0])
    }
    return undefined
  }
  const value: unknown = syntaxProblems.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : undefined
  return { value, syntaxProblems, unsetVariables, locate }
}

const firstLine = (message: string): string => message.split("\n")[0] ?? message

interface Ranged {
  readonly range?: readonly [number, number, number] | null | undefined
}

const nodeAt = (doc: Document, path: ConfigPath, key: boolean): Ranged | undefined => {
  if (path.length === 0) return doc.contents ?? undefined
  if (key) {
    const parent = doc.getIn(path.slice(0, -1), true)
    const name = path[path.length - 1]
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === name)
      if (pair !== undefined && isScalar(pair.key)) return pair.key
    }
    return undefined
  }
  const node: unknown = doc.getIn(path, true)
  return isScalar(node) || isMap(node) || isSeq(node) ? node : undefined
}

/** The config path of `node`, from the ancestors `visit` hands over (document first). */
const pathOf = (ancestors: ReadonlyArray<unknown>, node: unknown): ConfigPath => {
  const path: Array<string | number> = []
  ancestors.forEach((ancestor, i) => {
    const child = ancestors[i + 1] ?? node
    if (isPair(ancestor) && isScalar(ancestor.key)) path.push(String(ancestor.key.value))
    else if (isSeq(ancestor)) path.push(ancestor.items.findIndex((item) => item === child))
  })
  return path
}

const interpolate = (
  doc: Document,
  env: Readonly<Record<string, string | undefined>>,
  position: (offset: number) => { readonly line: number; readonly column: number }
): Array<ConfigProblem> => {
  const problems: Array<ConfigProblem> = []
  visit(doc, {
    Scalar(key, node: Scalar, ancestors) {
      if (key === "key" || typeof node.value !== "string" || !node.value.includes("${")) return
      const text = node.value
      const at = node.range ? position(node.range[0]) : undefined
      const missing = (name: string) =>
        problems.push({
          path: formatPath(pathOf(ancestors, node)),
          message: `environment variable ${name} is not set (referenced as \${${name}})`,
          ...at
        })
      const whole = wholeVariable.exec(text)
      if (whole !== null) {
        const name = whole[1] ?? ""
        const value = env[name]
        if (value === undefined) missing(name)
        else node.value = scalarFromText(value)
        return
      }
      node.value = text.replace(variable, (match, name: string | undefined) => {
        if (name === undefined) return "${"
        const value = env[name]
        if (value === undefined) {
          missing(name)
          return match
        }
        return value
      })
    }
  })
  return problems
}
