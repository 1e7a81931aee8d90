/**
 * Keeps a worker in step with its supervisor: the supervisor's decisions are applied to the
 * replica as they come, a reload is applied to this worker's data path as one process applies
 * its own (`applyToDataPath`), and each outcome batch carries the worker's running totals.
 */
import { Effect, Layer } from "effect"
import { applyReload } from "../domain/config/ConfigDiff.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { loadConfig } from "../domain/config/ConfigLoader.ts"
import { workerEvent } from "../domain/workers/Replica.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { RetryBudget } from "../services/RetryBudget.ts"
import { Router } from "../services/Router.ts"
import { SupervisorLink } from "../services/SupervisorLink.ts"
import { Upstream } from "../services/Upstream.ts"
import { applyToDataPath } from "./ReloadTargetLive.ts"

/**
 * The config a worker runs: the start-up file with the last reload applied over it, decoded from
 * the texts the supervisor already validated (so it cannot fail but by a bug, and says so).
 */
export const workerConfig = (file: string, text: string, reloaded: string | undefined): Config => {
  const decode = (source: string) => {
    const result = loadConfig({ file, text: source, env: process.env })
    if (result._tag === "Failure") {
      throw new Error(`a worker could not decode the config its supervisor validated: ${result.failure.message}`)
    }
    return result.success
  }
  const startUp = decode(text)
  return reloaded === undefined ? startUp : applyReload(startUp, decode(reloaded))
}

export const WorkerSyncLive = Layer.effectDiscard(Effect.gen(function*() {
  const link = yield* SupervisorLink
  const registry = yield* BackendRegistry
  const router = yield* Router
  const upstream = yield* Upstream
  const rateLimiter = yield* RateLimiter
  const retryBudget = yield* RetryBudget
  let inForce = yield* ProxyConfig
  const { file, workers } = link.start

  link.on("Decisions", ({ events }) => {
    for (const event of events) registry.emit(event)
  })
  link.on("Reload", ({ events, text }) => {
    const next = applyReload(inForce, workerConfig(file, text, undefined))
    applyToDataPath(registry, router, upstream, {
      next,
      text,
      events: events.map((event) => workerEvent(event, workers))
    })
    inForce = next
  })
  link.reportTotals(() => {
    let inFlight = 0
    for (const state of registry.all()) inFlight += state.inFlight
    return {
      rateLimited: rateLimiter.rejected(),
      rateLimitStoreErrors: rateLimiter.storeErrors(),
      retryBudgetExhausted: retryBudget.exhausted(),
      inFlight
    }
  })
}))
