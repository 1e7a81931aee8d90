/**
 * A worker's channel to its supervisor: what it was started with, the outbox its request
 * outcomes queue in (sent in batches, never one message per request), and the messages the
 * supervisor sends it.
 */
import { Context } from "effect"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import type { CountedRequest, FromWorker, ToWorker } from "../domain/workers/Protocol.ts"

export type StartMessage = Extract<ToWorker, { readonly _tag: "Start" }>

/** The running totals each batch carries (the supervisor sums them over workers). */
export interface WorkerTotals {
  readonly rateLimited: number
  readonly rateLimitStoreErrors: number
  readonly retryBudgetExhausted: number
  readonly inFlight: number
}

export interface SupervisorLinkShape {
  readonly start: StartMessage
  /** Queues a request event for the next batch. */
  readonly requestEvent: (event: BackendEvent) => void
  /** Queues a finished client request for the next batch. */
  readonly counted: (request: CountedRequest) => void
  /** Sends at once (leases, readiness): messages that are not per request. */
  readonly send: (message: FromWorker) => void
  /** Handles the supervisor's messages of one kind from now on. */
  readonly on: <Tag extends ToWorker["_tag"]>(
    tag: Tag,
    handler: (message: Extract<ToWorker, { readonly _tag: Tag }>) => void
  ) => void
  /** Where each batch reads the worker's running totals. */
  readonly reportTotals: (read: () => WorkerTotals) => void
  /** Sends what is queued now (before the worker exits). */
  readonly flush: () => void
}

export class SupervisorLink
  extends Context.Service<SupervisorLink, SupervisorLinkShape>()("switchyard/services/SupervisorLink")
{}
