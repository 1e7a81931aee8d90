/**
 * Hot reload: read the config file again and, if it is valid, make the running proxy match it
 * without dropping a request. An invalid file changes nothing.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { ConfigError } from "../domain/Errors.ts"

export interface ReloadReport {
  readonly added: ReadonlyArray<string>
  readonly updated: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  /** Changed settings that only a restart applies (listeners, timeouts, logging, ...). */
  readonly restartNeeded: ReadonlyArray<string>
}

/** The config was built in code, not read from a file: there is nothing to reload from. */
export class NotReloadable extends Schema.TaggedError<NotReloadable>()("NotReloadable", {
  message: Schema.String
}) {}

export interface ReloaderShape {
  readonly reload: Effect.Effect<ReloadReport, ConfigError | NotReloadable>
}

export class Reloader extends Context.Service<Reloader, ReloaderShape>()("switchyard/services/Reloader") {}
