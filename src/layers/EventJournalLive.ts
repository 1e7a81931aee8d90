/**
 * The event journal: with `journal: PATH` in the config, every lifecycle event (membership,
 * probes, health and circuit transitions) is appended to PATH as one JSON object per line, so
 * `switchyard replay PATH` can tell afterwards why each backend was in or out.
 *
 * Per-request events are not journaled: at tens of thousands a second they would make the file
 * an access log, and health and circuit replay from the transition events alone.
 *
 * A slow disk never blocks requests: the writer reads its own subscription, whose bounded buffer
 * drops the oldest events if the writer falls that far behind; writes wait for the file stream
 * to drain, never the emitters. On shutdown what is still buffered is written before the file
 * closes.
 */
import { Clock, Effect, Fiber, Layer, PubSub, Schema } from "effect"
import { createWriteStream } from "node:fs"
import type { WriteStream } from "node:fs"
import { BackendEvent } from "../domain/BackendEvent.ts"
import { JournalError } from "../domain/Errors.ts"
import { snapshotEvents } from "../domain/Timeline.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const encode = Schema.encodeSync(BackendEvent)

export const journalLines = (events: ReadonlyArray<BackendEvent>): string =>
  events.map((event) => `${JSON.stringify(encode(event))}\n`).join("")

const open = (path: string) =>
  Effect.callback<WriteStream, JournalError>((resume) => {
    const file = createWriteStream(path, { flags: "a" })
    file.once("error", (error) => resume(Effect.fail(new JournalError({ path, message: error.message }))))
    file.once("open", () => resume(Effect.succeed(file)))
  })

const close = (file: WriteStream) =>
  Effect.callback<void>((resume) => {
    file.end(() => resume(Effect.void))
  })

/** Writes `text`, then waits for the stream to drain if its buffer is full. */
const write = (file: WriteStream, text: string) =>
  Effect.callback<void>((resume) => {
    if (file.write(text)) resume(Effect.void)
    else file.once("drain", () => resume(Effect.void))
  })

export const EventJournalLive = Layer.effectDiscard(Effect.gen(function*() {
  const { journal } = yield* ProxyConfig
  if (journal === undefined) return
  const registry = yield* BackendRegistry
  const file = yield* Effect.acquireRelease(open(journal), close)
  const context = yield* Effect.context()
  file.on("error", (error) => Effect.runForkWith(context)(Effect.logError(`journal ${journal}: ${error.message}`)))
  // Subscribe first, then write what the registry already holds: nothing falls in between, and a
  // state both in the snapshot and in the subscription folds to the same thing twice.
  const events = yield* registry.subscribe()
  const now = yield* Clock.currentTimeMillis
  yield* write(file, journalLines(registry.all().flatMap((state) => snapshotEvents(state, now))))
  const writer = yield* PubSub.takeAll(events).pipe(
    Effect.flatMap((batch) => write(file, journalLines(batch))),
    Effect.forever,
    Effect.forkScoped
  )
  yield* Effect.addFinalizer(() =>
    Fiber.interrupt(writer).pipe(
      Effect.andThen(PubSub.takeUpTo(events, Number.POSITIVE_INFINITY)),
      Effect.flatMap((rest) => rest.length === 0 ? Effect.void : write(file, journalLines(rest)))
    )
  )
}))
