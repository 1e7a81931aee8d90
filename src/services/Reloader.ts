/**
 * Hot reload: read the config file again and, if it is valid, make the running proxy match it
 * without dropping a request. An invalid file changes nothing. The reloader is also the keeper of
 * the config in force, which the backends API changes through it (`amend`).
 */
import { Context, Schema } from "effect"
import type { Effect, Result } from "effect"
import type { BackendEvent } from "../domain/BackendEvent.ts"
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

/** A change to the config in force computed by the backends API (`config/BackendEdits.ts`). */
export interface Amendment {
  /** The config in force from now on: the one before with the change made. */
  readonly next: Config
  /** Membership changes that apply it, joins first (as a reload's). */
  readonly events: ReadonlyArray<BackendEvent>
}

export interface ReloaderShape {
  readonly reload: Effect.Effect<ReloadReport, ConfigError | NotReloadable>
  /**
   * The config in force now: the start-up one, then each reload's applied part (settings that
   * need a restart keep their start-up values). What `/status` reports, not what the file says.
   */
  readonly current: () => Config
  /**
   * Applies a change computed from the config in force at `at` (the Clock's now), as a reload is
   * applied (`ReloadTarget`: this process, or every worker) and one at a time with reloads, so
   * the change is never computed from a config a reload is replacing. It holds until the next
   * reload, which diffs against it and so replaces it with the file's backends.
   */
  readonly amend: <A extends Amendment, E>(
    edit: (inForce: Config, at: number) => Result.Result<A, E>
  ) => Effect.Effect<A, E>
}

export class Reloader extends Context.Service<Reloader, ReloaderShape>()("switchyard/services/Reloader") {}
