/**
 * `switchyard check`: validate a config without binding anything. Prints the normalised config
 * (defaults filled in, units in canonical form) on stdout, or every problem on stderr.
 */
import { Console, Effect, Schema } from "effect"
import { stringify } from "yaml"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { ConfigSchema } from "../domain/config/ConfigSchema.ts"
import { readConfigFile } from "../layers/ProxyConfigLive.ts"

const encode = Schema.encodeSync(ConfigSchema)

export const renderConfig = (config: Config): string => stringify(encode(config))

export const check = (file: string) =>
  readConfigFile(file, process.env).pipe(
    Effect.flatMap((config) => Console.log(renderConfig(config)).pipe(Effect.andThen(Console.error(`${file}: ok`))))
  )
