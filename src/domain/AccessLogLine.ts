/**
 * The access log's line, and how a batch of lines is cut into writes.
 *
 * A line is the same flat JSON object every JSON log line is (`time`, `level`, `message`, then the
 * fields; docs/observability.md), built here directly rather than through Effect's logger: the
 * logger's general path (an object per record, its annotations merged in, `JSON.stringify` of the
 * whole) cost more than a proxied request's own header work.
 *
 * Writes: several worker processes may share one stdout pipe, and a write to a pipe is atomic only
 * up to `PIPE_BUF` (4096 bytes on Linux); a longer one can be interleaved with another process's
 * in the middle of a line. So a batch going to a pipe is cut at line ends into writes of at most
 * that size; a regular file (appended to) takes the batch in one write.
 */
import type { RequestRecord } from "./RequestRecord.ts"

/** The largest write to a pipe that the kernel keeps whole (`PIPE_BUF` on Linux). */
export const atomicPipeWriteBytes = 4096

/** What `JSON.stringify` escapes in a string: `"`, `\`, control characters, and (lone) surrogates. */
// Control characters are exactly what this must find: the rule against them guards against typos.
// oxlint-disable-next-line no-control-regex
const escaped = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * `JSON.stringify(value)`, or `null`. Most values (ids, addresses, methods, names, paths) need no
 * escaping, and a regular-expression test is a fraction of a call into `JSON.stringify`.
 */
const text = (value: string | undefined): string =>
  value === undefined ? "null" : escaped.test(value) ? JSON.stringify(value) : `"${value}"`

/** `.001` ... `.999` without trailing zeros, and `""` for none: the fractions of a millisecond count. */
const thousandths = Array.from(
  { length: 1000 },
  (_, i) => i === 0 ? "" : `.${String(i).padStart(3, "0")}`.replace(/0+$/, "")
)

/** Below this many thousandths (a million seconds) a duration's decimal digits are exact in a double. */
const exactThousandths = 1e12

/**
 * `String(Math.round(ms * 1000) / 1000)`, the milliseconds to three decimals, without formatting
 * a fractional double (V8's shortest round-trip digits, a slow path): below `exactThousandths`
 * that string is the integer count of thousandths with its decimal point put back in.
 */
export const millisText = (ms: number): string => {
  const count = Math.round(ms * 1000)
  if (!(count >= 0 && count < exactThousandths)) return String(count / 1000)
  const rest = count % 1000
  return `${(count - rest) / 1000}${thousandths[rest]}`
}

/** `toISOString()` of the last second seen, up to its `.`: the part every line of that second shares. */
let secondStart = Number.NaN
let secondPrefix = ""

/** `new Date(at).toISOString()`, with the date formatted once per second rather than per line. */
export const isoTime = (at: number): string => {
  const second = Math.floor(at / 1000) * 1000
  if (second !== secondStart) {
    secondStart = second
    secondPrefix = new Date(second).toISOString().slice(0, 20)
  }
  const ms = Math.floor(at - second)
  return `${secondPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`
}

/** One access-log line, newline included; `time` is when the request arrived. */
export const accessLogLine = (record: RequestRecord): string =>
  `{"time":"${isoTime(record.at)}","level":"INFO","message":"request","requestId":${text(record.requestId)},"client":${
    text(record.client)
  },"method":${text(record.method)},"path":${
    text(record.path)
  },"protocol":"${record.protocol}","status":${record.status}${
    record.grpcStatus === undefined ? "" : `,"grpcStatus":${record.grpcStatus}`
  },"backend":${text(record.backend)},"pool":${text(record.pool)},"upstreamMs":${
    record.upstreamMs === undefined ? "null" : millisText(record.upstreamMs)
  },"durationMs":${millisText(record.durationMs)},"bytes":${record.bytes},"retries":${record.retries},"cache":${
    text(record.cache)
  }}\n`

/**
 * `batch` (whole lines, each ending in `\n`) cut into consecutive pieces of at most `limit` bytes,
 * each ending at a line end; a single line longer than `limit` is a piece of its own (cutting it
 * would break it for sure, sending it whole only may).
 */
export const lineAlignedWrites = (batch: Uint8Array, limit: number): Array<Uint8Array> => {
  const writes: Array<Uint8Array> = []
  let start = 0
  while (batch.length - start > limit) {
    const lastEnd = batch.lastIndexOf(0x0a, start + limit - 1)
    const end = lastEnd >= start ? lastEnd + 1 : batch.indexOf(0x0a, start + limit) + 1
    if (end <= 0) break
    writes.push(batch.subarray(start, end))
    start = end
  }
  if (start < batch.length) writes.push(batch.subarray(start))
  return writes
}

/**
 * One access-log line for a terminal (`logging.format: pretty`): the facts a person scans for, in
 * the order of the request's story, on one line.
 */
export const prettyAccessLine = (record: RequestRecord): string =>
  `${record.method} ${record.path} ${record.status} ${record.backend ?? "-"} ${
    Math.round(record.durationMs * 10) / 10
  } ms ${record.bytes} B ${record.protocol}${record.retries > 0 ? ` retries=${record.retries}` : ""}${
    record.cache === undefined ? "" : ` cache=${record.cache}`
  }${
    record.grpcStatus === undefined ? "" : ` grpc-status=${record.grpcStatus}`
  } id=${record.requestId} client=${record.client}`
