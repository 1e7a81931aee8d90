/**
 * One line of a traffic log, as `switchyard simulate --traffic` reads it: an access-log line
 * (`logging.access: true`, `logging.format: json`, docs/observability.md) decoded with Schema into
 * the facts a replay needs, or nothing for the other JSON log lines that share the proxy's
 * stdout (start-up, health changes). A line that is not JSON, or an access line with a field
 * that is wrong, is a problem naming its line and the field, as the config's problems do.
 *
 * Only the fields a replay uses are checked; others (`requestId`, `bytes`, ...) may be anything,
 * so logs from older or newer versions read as long as those are there. `pool` and `upstreamMs`
 * came later: without them a line is of the default pool and its backend's latency is the
 * request's whole duration.
 */
import { Result, Schema } from "effect"
import { schemaProblems } from "../../config/Problems.ts"
import type { ConfigProblem } from "../../Errors.ts"

/** A client request as the log tells it. */
export interface LoggedRequest {
  /** When it arrived, epoch ms. */
  readonly at: number
  readonly client: string
  readonly method: string
  readonly path: string
  readonly status: number
  /** The backend of its last attempt; `undefined` when the proxy answered by itself. */
  readonly backend: string | undefined
  readonly pool: string | undefined
  /** The last attempt's time to its response head; `undefined` when no backend answered. */
  readonly upstreamMs: number | undefined
  /** The whole request, retries included. */
  readonly durationMs: number
  readonly retries: number
}

const IsoTime = Schema.String.check(
  Schema.makeFilter((text) => !Number.isNaN(Date.parse(text)) || "Expected an ISO 8601 time")
)

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

const AccessLine = Schema.Struct({
  time: IsoTime,
  client: Schema.String,
  method: Schema.String,
  path: Schema.String,
  status: Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 599 })),
  backend: Schema.NullOr(Schema.String),
  pool: Schema.optionalKey(Schema.NullOr(Schema.String)),
  upstreamMs: Schema.optionalKey(Schema.NullOr(NonNegative)),
  durationMs: NonNegative,
  retries: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
})

const decodeAccessLine = Schema.decodeUnknownResult(AccessLine)

const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch (error) {
    return Result.fail(error instanceof Error ? error.message : String(error))
  }
}

/**
 * Line `line` (1-based) of a traffic log: the request it records, `undefined` for a blank line
 * or another log line, or its problems.
 */
export const decodeLogLine = (
  text: string,
  line: number
): Result.Result<LoggedRequest | undefined, ReadonlyArray<ConfigProblem>> => {
  if (text.trim() === "") return Result.succeed(undefined)
  const json = parseJson(text)
  if (Result.isFailure(json)) {
    return Result.fail([{ path: "", message: `not a JSON log line (${json.failure})`, line }])
  }
  const value = json.success
  if (typeof value !== "object" || value === null || !("message" in value)) {
    return Result.fail([{ path: "", message: "Expected a JSON log line (an object with a message)", line }])
  }
  if (value.message !== "request") return Result.succeed(undefined)
  const decoded = decodeAccessLine(value)
  if (Result.isFailure(decoded)) {
    return Result.fail(schemaProblems(decoded.failure.issue, () => ({ line, column: 1 })))
  }
  const fields = decoded.success
  return Result.succeed({
    at: Date.parse(fields.time),
    client: fields.client,
    method: fields.method,
    path: fields.path,
    status: fields.status,
    backend: fields.backend ?? undefined,
    pool: fields.pool ?? undefined,
    // Absent (a log from before the field): the request's whole duration is the best there is.
    upstreamMs: fields.upstreamMs === undefined
      ? (fields.backend === null ? undefined : fields.durationMs)
      : fields.upstreamMs ?? undefined,
    durationMs: fields.durationMs,
    retries: fields.retries
  })
}
