/**
 * Where the running config came from, and how to read it again: what a reload needs. A config
 * built in code (the demo, tests, embedding programs) has no file and cannot be reloaded.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { Config } from "../domain/config/ConfigLoader.ts"
import type { ConfigError } from "../domain/Errors.ts"

export interface LoadedConfig {
  readonly config: Config
  readonly text: string
}

export interface ConfigSourceShape {
  readonly file: string | undefined
  /** The file's text at start-up (what workers decode); `undefined` for a config built in code. */
  readonly text: string | undefined
  /** Reads and validates the config again, with the text it was read from; `undefined` when there is nothing to read. */
  readonly load: Effect.Effect<LoadedConfig, ConfigError> | undefined
}

export class ConfigSource
  extends Context.Service<ConfigSource, ConfigSourceShape>()("switchyard/services/ConfigSource")
{}
