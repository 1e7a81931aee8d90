/**
 * Human units in the config file: durations (`250ms`, `5s`, `1m`, `1h`) and byte sizes (`512KiB`,
 * `10MiB`, or a plain integer count of bytes). They are decoded once, at load time, into typed
 * values so nothing downstream ever parses a string again.
 *
 * Why not `Schema.DurationFromString`: it only accepts Effect's long form (`"5 seconds"`), while
 * operators write `5s` as in nginx, Envoy and Go.
 */
import { ByteSize, Duration, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const millisPerUnit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

/** Parses `250ms`, `5s`, `1.5m`, `2h`; `undefined` for anything else. */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const match = durationPattern.exec(text.trim())
  if (match === null) return undefined
  const unit = match[2] as keyof typeof millisPerUnit
  return Duration.millis(Number(match[1]) * millisPerUnit[unit])
}

/** Renders a duration back in the config's own syntax (for `switchyard check`). */
export const formatDuration = (duration: Duration.Duration): string => {
  const ms = Duration.toMillis(duration)
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms !== 0 && ms % 1_000 === 0) return `${ms / 1_000}s`
  return `${ms}ms`
}

/**
 * What a JSON Schema `pattern` can say of the file's own text (`switchyard schema` passes these
 * annotations through; editors and CI read them). The transformations below stay the authority.
 */
const durationText = Schema.String.annotate({ pattern: "^\\s*\\d+(\\.\\d+)?(ms|s|m|h)\\s*$" })

// Looser than `ByteSize.fromString` (which also refuses a fraction of a byte), never stricter.
const sizeText = Schema.String.annotate({
  pattern: "^\\s*\\d+(\\.\\d+)?\\s*(B|bytes?|kB|[MGTPEZYRQ]B|[KMGTPEZY]iB|" +
    "(kilo|mega|giga|tera|peta|exa|zetta|yotta|ronna|quetta|kibi|mebi|gibi|tebi|pebi|exbi|zebi|yobi)bytes?)\\s*$"
})

export const DurationString = durationText.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect<Duration.Duration, string>({
      decode: (text) => {
        const duration = parseDuration(text)
        return duration === undefined
          ? Effect.fail(
            new SchemaIssue.InvalidValue({
              message: `Expected a duration such as "250ms", "5s", "1m" or "1h", got ${JSON.stringify(text)}`
            }, text)
          )
          : Effect.succeed(duration)
      },
      encode: (duration) => Effect.succeed(formatDuration(duration))
    })
  )
)

/** A duration that must be strictly positive: a zero timeout or interval is always a mistake. */
export const PositiveDuration = DurationString.check(
  Schema.makeFilter((d: Duration.Duration) =>
    Duration.toMillis(d) > 0 ? undefined : "Expected a duration greater than 0"
  )
)

/** Parses `512KiB`, `10MiB`, `1GB` (Effect's `ByteSize` syntax) into a byte count. */
export const parseByteSize = (text: string): number | undefined =>
  Option.match(ByteSize.fromString(text), {
    onNone: () => undefined,
    onSome: (size) => {
      const bytes = Number(size)
      return Number.isSafeInteger(bytes) ? bytes : undefined
    }
  })

const binaryUnits = [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const

/** Renders a byte count in the config's syntax: the largest binary unit that divides it. */
export const formatByteSize = (bytes: number): string => {
  const unit = binaryUnits.find(([, size]) => bytes !== 0 && bytes % size === 0)
  return unit === undefined ? `${bytes}B` : `${bytes / unit[1]}${unit[0]}`
}

/** A size written as `10MiB` / `512KiB` / `1GB`, or a plain integer number of bytes. */
export const ByteSizeString = Schema.Union([sizeText, Schema.Int]).pipe(
  Schema.decodeTo(
    Schema.Int,
    SchemaTransformation.transformEffect<number, string | number>({
      decode: (input) => {
        const bytes = typeof input === "number" ? input : parseByteSize(input)
        return bytes === undefined || bytes < 0
          ? Effect.fail(
            new SchemaIssue.InvalidValue({
              message: `Expected a size such as "512KiB", "10MiB", "1GB" or a number of bytes, got ${
                JSON.stringify(input)
              }`
            }, input)
          )
          : Effect.succeed(bytes)
      },
      encode: (bytes) => Effect.succeed(formatByteSize(bytes))
    })
  )
)
