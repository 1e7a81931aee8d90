/**
 * One active health check of one backend: the port the health supervisor probes through. The
 * live adapter sends a real `GET` (`HealthProbeLive`); the strategy lab answers from its
 * simulated backends, so the same supervision code runs in both.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { BackendSpec } from "../domain/Backend.ts"
import type { ProbeSettings } from "../domain/BackendPolicy.ts"

export type ProbeResult =
  | { readonly healthy: true; readonly latencyMs: number }
  | { readonly healthy: false; readonly reason: string }

export interface HealthProbeShape {
  /** Never fails: every way a probe can go wrong is an unhealthy result with its reason. */
  readonly probe: (backend: BackendSpec, settings: ProbeSettings) => Effect.Effect<ProbeResult>
}

export class HealthProbe extends Context.Service<HealthProbe, HealthProbeShape>()("switchyard/services/HealthProbe") {}
