/**
 * The access log: records queue in a bounded, dropping queue; a fiber takes them in batches and
 * logs each as one line, the record itself as the message (`logging.format: json` gives one flat
 * JSON object per line). With `logging.access: false` records are not even queued.
 *
 * When the queue is full (a burst larger than it, faster than the logger writes) new records
 * are dropped rather than requests delayed; the number dropped is logged as a warning.
 */
import { Effect, Fiber, Layer, Queue } from "effect"
import type { RequestRecord } from "../domain/RequestRecord.ts"
import { AccessLog } from "../services/AccessLog.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const capacity = 16_384

/** The line's fields, in the order a person reads them; `time` is when the request arrived. */
export const accessLogEntry = (record: RequestRecord) => ({
  time: new Date(record.at).toISOString(),
  message: "request",
  requestId: record.requestId,
  client: record.client,
  method: record.method,
  path: record.path,
  status: record.status,
  backend: record.backend ?? null,
  durationMs: Math.round(record.durationMs * 1000) / 1000,
  bytes: record.bytes,
  retries: record.retries,
  cache: record.cache ?? null
})

export const AccessLogLive = Layer.effect(
  AccessLog,
  Effect.gen(function*() {
    const { logging } = yield* ProxyConfig
    if (!logging.access) return AccessLog.of({ append: () => undefined })
    const queue = yield* Queue.dropping<RequestRecord>(capacity)
    let dropped = 0
    const logBatch = (batch: ReadonlyArray<RequestRecord>) =>
      Effect.forEach(batch, (record) => Effect.logInfo(accessLogEntry(record)), { discard: true }).pipe(
        Effect.andThen(Effect.suspend(() => {
          if (dropped === 0) return Effect.void
          const count = dropped
          dropped = 0
          return Effect.logWarning(`access log: ${count} records dropped (the log could not keep up)`)
        }))
      )
    const writer = yield* Queue.takeAll(queue).pipe(
      Effect.flatMap((batch) => Effect.uninterruptible(logBatch(batch))),
      Effect.forever,
      Effect.forkScoped
    )
    // At shutdown (after the listeners drained) what is still queued is logged before the scope ends.
    yield* Effect.addFinalizer(() =>
      Fiber.interrupt(writer).pipe(Effect.andThen(Queue.clear(queue)), Effect.flatMap(logBatch))
    )
    return AccessLog.of({
      append: (record) => {
        if (!Queue.offerUnsafe(queue, record)) dropped++
      }
    })
  })
)
