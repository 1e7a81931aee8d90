/**
 * Hot reload: read the config file again and, if it is valid, make the running proxy match it
 * without dropping a request. An invalid file changes nothing.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { ReloadChanges } from "../domain/config/ConfigDiff.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import type { ConfigError } from "../domain/Errors.ts"

/**
 * Backends added, updated and removed; every other setting the reload applied (`changed`), and
 * every one that only a restart applies (`restartNeeded`), each with its old and new value.
 */
export type ReloadReport = ReloadChanges

/** The config was built in code, not read from a file: there is nothing to reload from. */
export class NotReloadable extends Schema.TaggedError<NotReloadable>()("NotReloadable", {
  message: Schema.String
}) {}

export interface ReloaderShape {
  readonly reload: Effect.Effect<ReloadReport, ConfigError | NotReloadable>
  /**
   * The config in force now: the start-up one, then each reload's applied part (settings that
   * need a restart keep their start-up values). What `/status` reports, not what the file says.
   */
  readonly current: () => Config
}

export class Reloader extends Context.Service<Reloader, ReloaderShape>()("switchyard/services/Reloader") {}
