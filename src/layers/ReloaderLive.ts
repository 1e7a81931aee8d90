/**
 * Hot reload, on `POST /reload` or SIGHUP: the file is read and validated like at start-up; an
 * invalid one is logged problem by problem and changes nothing. A valid one is applied in one
 * synchronous step, so no request ever sees half of it:
 *
 * 1. new and changed backends join (`BackendAdded`: spec and policy, health checks included);
 * 2. routes, pools and strategies switch to the new ones;
 * 3. backends no longer in the config leave (`BackendRemoved`): they take no new requests, finish
 *    those in flight, and their connection pools close once idle.
 *
 * Settings only a restart can apply (listeners, timeouts, logging, ...) are reported, not applied.
 * Reloads run one at a time.
 */
import { Clock, Effect, Layer, Semaphore } from "effect"
import { diffBackends, restartNeededFor } from "../domain/config/ConfigDiff.ts"
import { formatProblem } from "../domain/Errors.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { NotReloadable, Reloader } from "../services/Reloader.ts"
import { Router } from "../services/Router.ts"
import { Upstream } from "../services/Upstream.ts"

export const ReloaderLive = Layer.effect(
  Reloader,
  Effect.gen(function*() {
    const source = yield* ConfigSource
    const registry = yield* BackendRegistry
    const router = yield* Router
    const upstream = yield* Upstream
    let running = yield* ProxyConfig
    const oneAtATime = yield* Semaphore.make(1)
    const load = source.load

    const reload = load === undefined
      ? Effect.fail(new NotReloadable({ message: "this proxy's config was not read from a file" }))
      : Effect.gen(function*() {
        const next = yield* load.pipe(
          Effect.tapError((error) =>
            Effect.logError(
              [`reload refused, the running config is unchanged:`, ...error.problems.map((p) => formatProblem(error.file, p))]
                .join("\n  ")
            )
          )
        )
        const at = yield* Clock.currentTimeMillis
        const changes = diffBackends(registry.all(), next, at)
        for (const event of changes.events) {
          if (event._tag === "BackendAdded") {
            // A backend moved to another address gets a fresh connection pool.
            if (registry.get(event.spec.name)?.spec.url !== event.spec.url) upstream.release(event.spec.name)
            registry.emit(event)
          }
        }
        router.reconfigure(next)
        for (const event of changes.events) {
          if (event._tag === "BackendRemoved") {
            registry.emit(event)
            upstream.release(event.backend)
          }
        }
        const restartNeeded = restartNeededFor(running, next)
        running = next
        yield* Effect.logInfo(
          `config reloaded: ${changes.added.length} added, ${changes.updated.length} updated, ${changes.removed.length} removed` +
            (restartNeeded.length === 0 ? "" : `; a restart is needed to apply: ${restartNeeded.join(", ")}`)
        )
        return { added: changes.added, updated: changes.updated, removed: changes.removed, restartNeeded }
      }).pipe(oneAtATime.withPermits(1))

    // SIGHUP asks for a reload, as it does of nginx and HAProxy.
    if (source.file !== undefined) {
      const context = yield* Effect.context<never>()
      const onHangup = () => Effect.runForkWith(context)(Effect.ignore(reload))
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("SIGHUP", onHangup)),
        () => Effect.sync(() => process.off("SIGHUP", onHangup))
      )
    }
    return Reloader.of({ reload })
  })
)
