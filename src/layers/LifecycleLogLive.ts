/**
 * Backend changes in the serve log (`domain/LifecycleLog.ts`): in the process that holds the
 * registry's truth (the one process, or the supervisor of workers), from the registry's
 * subscription, so the log never slows an emitter. The start-up membership is in the registry
 * before this subscribes: the log tells changes, not the initial list.
 */
import { Effect, Layer, PubSub } from "effect"
import { lifecycleLine } from "../domain/LifecycleLog.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"

export const LifecycleLogLive = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* BackendRegistry
  const events = yield* registry.subscribe()
  yield* PubSub.takeAll(events).pipe(
    Effect.flatMap((batch) =>
      Effect.forEach(batch, (event) => {
        const line = lifecycleLine(event)
        if (line === undefined) return Effect.void
        const log = line.level === "warn" ? Effect.logWarning(line.message) : Effect.logInfo(line.message)
        return log.pipe(Effect.annotateLogs({ backend: line.backend, event: event._tag }))
      }, { discard: true })
    ),
    Effect.forever,
    Effect.forkScoped
  )
}))
