/**
 * The supervisor's workers (`workers: N`): the processes that own the proxy listener and the
 * data path, while the supervisor keeps what must exist once. `/status` lists them and
 * `/metrics` counts their restarts and sums their totals.
 */
import { Context } from "effect"
import type { Effect, Scope } from "effect"
import type { ListenError } from "../domain/Errors.ts"
import type { CountedRequest } from "../domain/workers/Protocol.ts"

export interface WorkerStatus {
  /** 1 to N; a restarted worker keeps its id. */
  readonly id: number
  readonly pid: number | undefined
  /** Requests in flight to backends, as of the worker's last batch. */
  readonly inFlight: number
  /** Client requests it has answered (since the supervisor started, across its restarts). */
  readonly requests: number
  readonly restarts: number
}

export interface WorkerPoolShape {
  readonly status: () => ReadonlyArray<WorkerStatus>
  /** Workers restarted after dying (`lb_worker_restarts_total`). */
  readonly restarts: () => number
  /**
   * Starts the workers and keeps them running (restarting those that die) for the scope; each
   * finished client request a worker reports is handed to `counted`. Succeeds once every worker
   * listens; closing the scope drains them all.
   */
  readonly launch: (counted: (request: CountedRequest) => void) => Effect.Effect<void, ListenError, Scope.Scope>
}

export class WorkerPool extends Context.Service<WorkerPool, WorkerPoolShape>()("switchyard/services/WorkerPool") {}
