/**
 * The two ends of a worker's start: the supervisor launches its workers once everything they
 * report to exists (registry, metrics), and a worker tells its supervisor it listens once its
 * listener is bound.
 */
import { Effect, Layer } from "effect"
import { Metrics } from "../services/Metrics.ts"
import { ProxyServer } from "../services/ProxyServer.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"
import { WorkerPool } from "../services/WorkerPool.ts"

export const WorkersLaunchLive = Layer.effectDiscard(Effect.gen(function*() {
  const pool = yield* WorkerPool
  const metrics = yield* Metrics
  yield* pool.launch(metrics.recordRequest)
}))

export const WorkerReadyLive = Layer.effectDiscard(Effect.gen(function*() {
  const { address } = yield* ProxyServer
  const link = yield* SupervisorLink
  link.send({ _tag: "Listening", port: address.port })
}))
