/**
 * Structured logs through Effect's `Logger`: one JSON object per line (for collectors) or a
 * pretty form (for a terminal), at the configured minimum level.
 */
import { Effect, Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<
  string,
  LogLevel.LogLevel
>

export const LoggingLive = Layer.unwrap(Effect.gen(function*() {
  const { logging } = yield* ProxyConfig
  return Layer.merge(
    Logger.layer([logging.format === "json" ? Logger.consoleJson : Logger.consolePretty()]),
    Layer.succeed(References.MinimumLogLevel, levels[logging.level])
  )
}))
