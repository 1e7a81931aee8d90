/**
 * What a validated reload is applied to: the data path that routes requests (one process's
 * router and connection pools, or every worker's). The reloader decides; this carries it out.
 */
import { Context } from "effect"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"

export interface ReloadChange {
  /** The config in force from now on (`applyReload` of the file over the running one). */
  readonly next: Config
  /** The file's text (or `next` written as a document, `configText`), which a worker decodes to the same `next`. */
  readonly text: string
  /**
   * Membership changes: `BackendAdded` for new and changed backends, applied before the switch;
   * `BackendRemoved`, `BackendDrained` and `BackendUndrained`, applied after it.
   */
  readonly events: ReadonlyArray<BackendEvent>
}

export interface ReloadTargetShape {
  /** Synchronous, so that no request sees half of a reload. */
  readonly apply: (change: ReloadChange) => void
}

export class ReloadTarget
  extends Context.Service<ReloadTarget, ReloadTargetShape>()("switchyard/services/ReloadTarget")
{}
