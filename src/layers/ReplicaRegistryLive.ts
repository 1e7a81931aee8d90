/**
 * A worker's registry: the supervisor's states as the worker was started with them, folded
 * with `evolveReplica` (the worker's own requests counted, every decision the supervisor's), its
 * request events queued for the supervisor as they are applied.
 */
import { Effect, Layer } from "effect"
import { evolveReplica, seedState } from "../domain/workers/Replica.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"
import { makeRegistry } from "./BackendRegistryLive.ts"

export const ReplicaRegistryLive = Layer.effect(
  BackendRegistry,
  Effect.gen(function*() {
    const link = yield* SupervisorLink
    const { states, workers } = link.start
    return BackendRegistry.of(
      yield* makeRegistry({
        fold: (before, event) => evolveReplica(before, event),
        onRequestEvent: link.requestEvent,
        initial: states.map((state) => seedState(state, workers))
      })
    )
  })
)
