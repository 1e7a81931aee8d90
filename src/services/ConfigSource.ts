/**
 * Where the running config came from, and how to read it again: what a reload needs. A config
 * built in code (the demo, tests, embedding programs) has no file and cannot be reloaded.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { Config } from "../domain/config/ConfigLoader.ts"
import type { ConfigError } from "../domain/Errors.ts"

export interface ConfigSourceShape {
  readonly file: string | undefined
  /** Reads and validates the config again; `undefined` when there is nothing to read. */
  readonly load: Effect.Effect<Config, ConfigError> | undefined
}

export class ConfigSource
  extends Context.Service<ConfigSource, ConfigSourceShape>()("switchyard/services/ConfigSource")
{}
