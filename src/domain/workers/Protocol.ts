/**
 * What the supervisor and its workers say to each other over the IPC channel (Node's `advanced`
 * serialization, so values are structured clones: no JSON, `Infinity` and `undefined` survive).
 * Nothing crosses per request: a worker's outcomes travel in batches (`Outcomes`), and decisions
 * come back as the supervisor's transition events (`Decisions`).
 */
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import type { OutcomeBatch } from "./OutcomeBatch.ts"

export type { CountedRequest } from "../RequestRecord.ts"

export type ToWorker =
  /** The first message: who the worker is, the config (as the file's text) and the pool as it stands. */
  | {
    readonly _tag: "Start"
    readonly id: number
    readonly workers: number
    readonly file: string
    readonly text: string
    /** The text of the last reload, if any: the config in force is it applied over `text` (`applyReload`). */
    readonly reloaded: string | undefined
    /** The port every worker listens on; `undefined` for the first worker when the config says 0. */
    readonly port: number | undefined
    readonly states: ReadonlyArray<BackendState>
  }
  /** Transitions the supervisor decided (health, circuit, warm-up), in order. */
  | { readonly _tag: "Decisions"; readonly events: ReadonlyArray<BackendEvent> }
  /** A validated reload: the new file's text and the membership changes, added before removed. */
  | { readonly _tag: "Reload"; readonly text: string; readonly events: ReadonlyArray<BackendEvent> }
  /** The answer to `LeaseWanted`: `granted` tokens (0: none until `retryAfterMs`). */
  | { readonly _tag: "Lease"; readonly client: string; readonly granted: number; readonly retryAfterMs: number }
  /** Stop accepting, finish what is in flight, exit. */
  | { readonly _tag: "Drain" }

export type FromWorker =
  | { readonly _tag: "Listening"; readonly port: number }
  /**
   * Everything since the last batch: the worker's request events (the supervisor folds them into
   * the one registry), its finished client requests (metrics), and its running totals.
   */
  | {
    readonly _tag: "Outcomes"
    /** Request events and counted requests, in order (`OutcomeBatch.ts`). */
    readonly batch: OutcomeBatch
    /** Client requests answered in this batch. */
    readonly requests: number
    readonly rateLimited: number
    readonly rateLimitStoreErrors: number
    readonly retryBudgetExhausted: number
    readonly inFlight: number
  }
  /** Rate limiting: `tokens` more of the client's bucket, please. */
  | { readonly _tag: "LeaseWanted"; readonly client: string; readonly tokens: number }
  /** Rate limiting: tokens leased and not spent, back to the client's bucket. */
  | { readonly _tag: "LeaseReturned"; readonly client: string; readonly tokens: number }

const tags: ReadonlySet<string> = new Set(["Listening", "Outcomes", "LeaseWanted", "LeaseReturned"])
const workerTags: ReadonlySet<string> = new Set(["Start", "Decisions", "Reload", "Lease", "Drain"])

const tagOf = (message: unknown): unknown =>
  typeof message === "object" && message !== null && "_tag" in message ? message._tag : undefined

/** Whether an IPC message is one of a worker's (the channel is ours alone, but it is untyped). */
export const isFromWorker = (message: unknown): message is FromWorker => {
  const tag = tagOf(message)
  return typeof tag === "string" && tags.has(tag)
}

export const isToWorker = (message: unknown): message is ToWorker => {
  const tag = tagOf(message)
  return typeof tag === "string" && workerTags.has(tag)
}
