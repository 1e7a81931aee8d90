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
      // The batch copies the fields it sends: no object of its own per request.
      recordRequest: link.counted,
      prometheus: () => "",
      history: () => []
    })
  })
)
