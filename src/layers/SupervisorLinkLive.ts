/**
 * The worker's end of the IPC channel its supervisor forked it with. Outcomes queue in plain
 * arrays and leave every `batchIntervalMs` as one `Outcomes` message: the cost of sharing the
 * pool's state is a few array pushes per request, and a health or circuit decision still
 * reaches every worker well within the 100 ms the contract allows.
 */
import { Layer } from "effect"
import { appendCounted, appendEvent } from "../domain/workers/OutcomeBatch.ts"
import type { OutcomeBatch } from "../domain/workers/OutcomeBatch.ts"
import type { FromWorker, ToWorker } from "../domain/workers/Protocol.ts"
import { isToWorker } from "../domain/workers/Protocol.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"
import type { StartMessage, SupervisorLinkShape, WorkerTotals } from "../services/SupervisorLink.ts"

/** How long outcomes wait to be sent together. */
export const batchIntervalMs = 10

const noTotals = (): WorkerTotals => ({ rateLimited: 0, rateLimitStoreErrors: 0, retryBudgetExhausted: 0, inFlight: 0 })

/** The channel over `process` (the IPC channel `child_process.fork` opened), for a worker started with `start`. */
export const makeSupervisorLink = (start: StartMessage): SupervisorLinkShape => {
  let batch: OutcomeBatch = []
  let requests = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let totals = noTotals
  const handlers = new Map<string, (message: ToWorker) => void>()
  /** Messages that came before their kind's handler was set (the worker still starting). */
  let early: Array<ToWorker> = []

  const send = (message: FromWorker) => {
    if (process.connected && process.send !== undefined) process.send(message)
  }
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (batch.length === 0) return
    send({ _tag: "Outcomes", batch, requests, ...totals() })
    batch = []
    requests = 0
  }
  const queued = () => {
    timer ??= setTimeout(flush, batchIntervalMs).unref()
  }
  process.on("message", (message: unknown) => {
    if (!isToWorker(message)) return
    const handler = handlers.get(message._tag)
    if (handler === undefined) early.push(message)
    else handler(message)
  })
  return {
    start,
    requestEvent: (event) => {
      appendEvent(batch, event)
      queued()
    },
    counted: (request) => {
      appendCounted(batch, request)
      requests++
      queued()
    },
    send,
    on: (tag, handler) => {
      // The map holds every kind's handler under its own tag, so the message it gets is of that kind.
      const handle = handler as (message: ToWorker) => void
      handlers.set(tag, handle)
      const waiting = early.filter((message) => message._tag === tag)
      early = early.filter((message) => message._tag !== tag)
      for (const message of waiting) handle(message)
    },
    reportTotals: (read) => {
      totals = read
    },
    flush
  }
}

export const SupervisorLinkLive = (link: SupervisorLinkShape) => Layer.succeed(SupervisorLink, link)
