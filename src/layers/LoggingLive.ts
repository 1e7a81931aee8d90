/**
 * Structured logs through Effect's `Logger`: one JSON object per line (for collectors) or a
 * pretty form (for a terminal), at the configured minimum level.
 *
 * A JSON line is flat: `time`, `level`, `message`, then the log's annotations; a message that is
 * an object (an access-log record) contributes its own fields, its `time` included. Flat lines are
 * what collectors index best, and cost a fraction of Effect's general structured format (spans,
 * fiber ids) on the access log's path.
 *
 * JSON lines are batched: formatted as they come, written to stdout together every 50 ms, in one
 * write. With an access-log line per request, a write per line would be a system call per
 * request (and on Linux a write to a pipe blocks the event loop until it is read). The batch is
 * flushed when the logger's scope closes, after everything else has shut down.
 */
import { Cause, Effect, Layer, Logger, Predicate, References } from "effect"
import type { LogLevel } from "effect"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<
  string,
  LogLevel.LogLevel
>

const upperLevels: Record<LogLevel.LogLevel, string> = {
  All: "ALL",
  Trace: "TRACE",
  Debug: "DEBUG",
  Info: "INFO",
  Warn: "WARN",
  Error: "ERROR",
  Fatal: "FATAL",
  None: "NONE"
}

export const jsonLine = Logger.make<unknown, string>(({ cause, date, fiber, logLevel, message }) => {
  const line: Record<string, unknown> = {
    time: date.toISOString(),
    level: upperLevels[logLevel],
    ...fiber.getRef(References.CurrentLogAnnotations)
  }
  const parts: ReadonlyArray<unknown> = Array.isArray(message) ? message : [message]
  const texts: Array<string> = []
  for (const part of parts) {
    if (Predicate.isObject(part) && !Array.isArray(part) && !(part instanceof Error)) Object.assign(line, part)
    else texts.push(part instanceof Error ? part.message : String(part))
  }
  if (texts.length > 0) line["message"] = texts.join(" ")
  if (cause.reasons.length > 0) line["cause"] = Cause.pretty(cause)
  return JSON.stringify(line)
})

const batchedJsonLines = Logger.batched(jsonLine, {
  window: "50 millis",
  flush: (lines) =>
    Effect.sync(() => {
      process.stdout.write(`${lines.join("\n")}\n`)
    })
})

export const LoggingLive = Layer.unwrap(Effect.gen(function*() {
  const { logging } = yield* ProxyConfig
  return Layer.merge(
    Logger.layer([logging.format === "json" ? batchedJsonLines : Logger.consolePretty()]),
    Layer.succeed(References.MinimumLogLevel, levels[logging.level])
  )
}))
