/**
 * A worker's metrics are the supervisor's: each finished client request goes into the next
 * outcome batch, and the supervisor counts it once, in the one `/metrics` (`WorkerPoolLive`).
 * Nothing is rendered here; the admin listener lives in the supervisor.
 */
import { Effect, Layer } from "effect"
import { Metrics } from "../services/Metrics.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"

export const WorkerMetricsLive = Layer.effect(
  Metrics,
  Effect.gen(function*() {
    const link = yield* SupervisorLink
    return Metrics.of({
      recordRequest: ({ backend, cache, durationMs, method, status }) =>
        link.counted({ backend, cache, durationMs, method, status }),
      prometheus: () => "",
      history: () => []
    })
  })
)
