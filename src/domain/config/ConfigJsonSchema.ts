/**
 * The JSON Schema (draft 2020-12) of the config file as written, for editors (yaml-language-server)
 * and CI. It is generated from `ConfigSchema`, the schema that decodes the file, so the two cannot
 * disagree on a key, a default or a range.
 *
 * It describes the file's text, not the decoded config: durations and sizes are strings with
 * patterns, the sections the loader fills in may be absent or empty, unknown keys are refused as
 * the loader refuses them, and a value may be a `${NAME}` reference. What needs the whole file or
 * the environment (unique names, known pools, a protocol that fits its URL, a duration above 0)
 * is `switchyard check`'s alone: the schema is a first pass, the loader the authority.
 */
import { JsonSchema, Predicate, Schema } from "effect"
import { ConfigSchema, optionalSections } from "./ConfigSchema.ts"

/** The loader fills an absent section, or one left empty (`server:` alone reads as null), with `{}`. */
const ConfigFile = ConfigSchema.mapFields((fields) => ({
  ...fields,
  ...Object.fromEntries(optionalSections.map((key) => [key, Schema.optionalKey(Schema.NullOr(fields[key]))]))
}))

const referenceRef = "#/$defs/EnvironmentReference"

const environmentReference: JsonSchema.JsonSchema = {
  type: "string",
  pattern: "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}",
  description: "${NAME}: read from the environment when the file is loaded, typed when it is the whole value"
}

/** Keywords that say what a value is without constraining it: they stay outside the `anyOf`. */
const annotationKeys: ReadonlySet<string> = new Set(["title", "description", "default", "examples"])

const mapSchemas = (
  value: unknown,
  f: (schema: JsonSchema.JsonSchema) => JsonSchema.JsonSchema
): Record<string, unknown> | undefined =>
  Predicate.isObject(value)
    ? Object.fromEntries(
      Object.entries(value).map(([key, schema]) => [key, Predicate.isObject(schema) ? f(schema) : schema])
    )
    : undefined

/**
 * `{ type, allOf: [{ enum, description }] }` as `{ type, enum, description }` when no keyword
 * repeats (the same constraints), so editors find a check's annotations on the key itself.
 */
const mergeAllOf = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
  const { allOf, ...rest } = schema
  if (!Array.isArray(allOf) || !allOf.every(Predicate.isObject)) return schema
  const keys = [...Object.keys(rest), ...allOf.flatMap((part) => Object.keys(part))]
  return new Set(keys).size === keys.length ? Object.assign(rest, ...allOf) : schema
}

/** A leaf that any string fits already accepts a reference as it is. */
const takesAnyString = (schema: JsonSchema.JsonSchema): boolean =>
  schema["type"] === "string" && schema["pattern"] === undefined && schema["enum"] === undefined

/**
 * Lets every value that is not a mapping or a list be a `${NAME}` reference instead (`port: ${PORT}`
 * is a port once the environment is read), keeping its description and default where editors look.
 */
const withReferences = (original: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
  const schema = mergeAllOf(original)
  if (schema["type"] === "object") {
    const properties = mapSchemas(schema["properties"], withReferences)
    const patternProperties = mapSchemas(schema["patternProperties"], withReferences)
    const additional = schema["additionalProperties"]
    return {
      ...schema,
      ...(properties === undefined ? {} : { properties }),
      ...(patternProperties === undefined ? {} : { patternProperties }),
      ...(Predicate.isObject(additional) ? { additionalProperties: withReferences(additional) } : {})
    }
  }
  if (schema["type"] === "array") {
    const items = schema["items"]
    return Predicate.isObject(items) ? { ...schema, items: withReferences(items) } : schema
  }
  const branches = schema["anyOf"]
  if (Array.isArray(branches) && branches.some((branch) => Predicate.isObject(branch) && branch["type"] === "object")) {
    return { ...schema, anyOf: branches.map((branch) => Predicate.isObject(branch) ? withReferences(branch) : branch) }
  }
  if (takesAnyString(schema)) return schema
  const entries = Object.entries(schema)
  const constraints = Object.fromEntries(entries.filter(([key]) => !annotationKeys.has(key)))
  const alternatives = Array.isArray(branches) && Object.keys(constraints).length === 1 ? branches : [constraints]
  return {
    ...Object.fromEntries(entries.filter(([key]) => annotationKeys.has(key))),
    anyOf: [...alternatives, { $ref: referenceRef }]
  }
}

/** The config file's JSON Schema, as `switchyard schema` prints it and `switchyard.schema.json` holds it. */
export const configJsonSchema = (): JsonSchema.JsonSchema => {
  const document = Schema.toJsonSchemaDocument(ConfigFile, {
    onExcessProperty: "error",
    // The patterns of durations and sizes are annotations of their text (`Units.ts`).
    includeAnnotationKey: (key) => key === "pattern"
  })
  return {
    $schema: JsonSchema.META_SCHEMA_URI_DRAFT_2020_12,
    title: "Switchyard config",
    description: "The config file of switchyard serve and switchyard check (YAML or JSON)",
    ...withReferences(document.schema),
    $defs: { ...document.definitions, EnvironmentReference: environmentReference }
  }
}
