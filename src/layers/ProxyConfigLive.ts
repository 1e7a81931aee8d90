/**
 * Where the config comes from: a file (YAML or JSON) with the process environment for `${NAME}`
 * and the `LB_*` overrides, or a value built in code (the demo, tests, embedding programs) in the
 * file's own syntax and validated the same way.
 */
import { Effect, Layer } from "effect"
import { readFile } from "node:fs/promises"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { decodeConfig, loadConfig } from "../domain/config/ConfigLoader.ts"
import { ConfigError } from "../domain/Errors.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

type Env = Readonly<Record<string, string | undefined>>

export const readConfigFile = (file: string, env: Env): Effect.Effect<Config, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new ConfigError({
        file,
        problems: [{ path: "", message: `cannot read the file: ${error instanceof Error ? error.message : String(error)}` }]
      })
  }).pipe(Effect.flatMap((text) => Effect.fromResult(loadConfig({ file, text, env }))))

export const ProxyConfigLive = {
  /** The config in `file`, which a reload reads again. */
  fromFile: (file: string, env: Env = process.env): Layer.Layer<ProxyConfig | ConfigSource, ConfigError> =>
    Layer.merge(
      Layer.effect(ProxyConfig, readConfigFile(file, env)),
      Layer.succeed(ConfigSource, ConfigSource.of({ file, load: readConfigFile(file, env) }))
    ),
  /** `value` is written as in the file (`"5s"`, `"10MiB"`); `name` labels any problem found. */
  fromObject: (
    value: unknown,
    options?: { readonly name?: string; readonly env?: Env }
  ): Layer.Layer<ProxyConfig | ConfigSource, ConfigError> =>
    Layer.merge(
      Layer.effect(
        ProxyConfig,
        Effect.fromResult(decodeConfig({ file: options?.name ?? "<config>", value, env: options?.env ?? {} }))
      ),
      Layer.succeed(ConfigSource, ConfigSource.of({ file: undefined, load: undefined }))
    )
}
