/**
 * `HealthProbe` answered by the strategy lab's simulated backends, at the clock's time (the
 * virtual clock, in the lab): refused while a backend is down, healthy at once otherwise. A
 * health endpoint is cheap: probes see whether a backend is up, not how loaded it is. The same
 * health supervision (`HealthSupervisorLive`) runs on it as on the live probe.
 */
import { Clock, Effect, Layer } from "effect"
import type { SimulatedBackend } from "../domain/sim/BackendModel.ts"
import { conditionAt, timelineOf } from "../domain/sim/BackendModel.ts"
import { HealthProbe } from "../services/HealthProbe.ts"
import type { ProbeResult } from "../services/HealthProbe.ts"

const refused: ProbeResult = { healthy: false, reason: "connection refused" }
const up: ProbeResult = { healthy: true, latencyMs: 0 }

/** Probes of `backends`; a backend it does not know is healthy, as an unknown name is not down. */
export const SimHealthProbeLive = (backends: ReadonlyArray<SimulatedBackend>) => {
  const timelines = new Map(backends.map((backend) => [backend.name, timelineOf(backend)]))
  return Layer.succeed(
    HealthProbe,
    HealthProbe.of({
      probe: (backend) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const timeline = timelines.get(backend.name)
          return timeline !== undefined && conditionAt(timeline, now).down ? refused : up
        })
    })
  )
}
