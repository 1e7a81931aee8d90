/**
 * Structured logs through Effect's `Logger`: one JSON object per line (for collectors) or a
 * pretty form (for a terminal), at the configured minimum level.
 *
 * JSON lines are batched: formatted as they come, written to stdout together every 50 ms, in one
 * write. With an access-log line per request, a write per line would be a system call per
 * request (and on Linux a write to a pipe blocks the event loop until it is read). The batch is
 * flushed when the logger's scope closes, after everything else has shut down.
 */
import { Effect, Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<
  string,
  LogLevel.LogLevel
>

const batchedJsonLines = Logger.batched(Logger.formatJson, {
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
