/**
 * A reload applied to the data path in this process, in the order that keeps every request
 * routable: new and changed backends join (a backend moved to another address gets a fresh
 * connection pool), routes and strategies switch, then backends no longer configured leave (they
 * finish what is in flight; their pools close) and drains start or end.
 */
import { Effect, Layer } from "effect"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ReloadTarget } from "../services/ReloadTarget.ts"
import type { ReloadChange } from "../services/ReloadTarget.ts"
import { Router } from "../services/Router.ts"
import type { RouterShape } from "../services/Router.ts"
import { Upstream } from "../services/Upstream.ts"
import type { UpstreamShape } from "../services/Upstream.ts"

export const applyToDataPath = (
  registry: BackendRegistryShape,
  router: RouterShape,
  upstream: UpstreamShape,
  change: ReloadChange
): void => {
  for (const event of change.events) {
    if (event._tag !== "BackendAdded") continue
    if (registry.get(event.spec.name)?.spec.url !== event.spec.url) upstream.release(event.spec.name)
    registry.emit(event)
  }
  router.reconfigure(change.next)
  for (const event of change.events) {
    if (event._tag === "BackendAdded") continue
    registry.emit(event)
    if (event._tag === "BackendRemoved") upstream.release(event.backend)
  }
}

export const ReloadTargetLive = Layer.effect(
  ReloadTarget,
  Effect.gen(function*() {
    const registry = yield* BackendRegistry
    const router = yield* Router
    const upstream = yield* Upstream
    return ReloadTarget.of({ apply: (change) => applyToDataPath(registry, router, upstream, change) })
  })
)
