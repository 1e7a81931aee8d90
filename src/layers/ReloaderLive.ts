/**
 * Hot reload, on `POST /reload` or SIGHUP: the file is read and validated like at start-up; an
 * invalid one is logged problem by problem and changes nothing. A valid one is applied in one
 * synchronous step (`ReloadTarget`: this process's data path, or every worker's), so no request
 * ever sees half of it: new and changed backends join (`BackendAdded`: spec and policy, health
 * checks included), routes, pools and strategies switch, and backends no longer in the config
 * leave (`BackendRemoved`): they take no new requests and finish those in flight.
 *
 * Every other setting that changed is reported, in the answer and the log line: those applied
 * (strategies, routes, health checks, breaker, ...) and those only a restart can apply (listeners,
 * timeouts, logging, ...), which keep their running values (`ConfigDiff.appliedBy` decides).
 * Reloads run one at a time.
 */
import { Clock, Effect, Layer, Semaphore } from "effect"
import { applyReload, describeReload, diffBackends, diffSettings } from "../domain/config/ConfigDiff.ts"
import { formatProblem } from "../domain/Errors.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { NotReloadable, Reloader } from "../services/Reloader.ts"
import type { ReloadReport } from "../services/Reloader.ts"
import { ReloadTarget } from "../services/ReloadTarget.ts"

export const ReloaderLive = Layer.effect(
  Reloader,
  Effect.gen(function*() {
    const source = yield* ConfigSource
    const registry = yield* BackendRegistry
    const target = yield* ReloadTarget
    let inForce = yield* ProxyConfig
    const oneAtATime = yield* Semaphore.make(1)
    const load = source.load

    const reload = load === undefined
      ? Effect.fail(new NotReloadable({ message: "this proxy's config was not read from a file" }))
      : Effect.gen(function*() {
        const file = yield* load.pipe(
          Effect.tapError((error) =>
            Effect.logError(
              [
                `reload refused, the running config is unchanged:`,
                ...error.problems.map((p) => formatProblem(error.file, p))
              ]
                .join("\n  ")
            )
          )
        )
        const settings = diffSettings(inForce, file.config)
        const next = applyReload(inForce, file.config)
        const at = yield* Clock.currentTimeMillis
        const changes = diffBackends(registry.all(), next, at)
        target.apply({ next, text: file.text, events: changes.events })
        inForce = next
        const report: ReloadReport = {
          added: changes.added,
          updated: changes.updated,
          removed: changes.removed,
          changed: settings.changed,
          restartNeeded: settings.restartNeeded
        }
        // A setting waiting for a restart is something the operator has to act on.
        yield* (report.restartNeeded.length === 0 ? Effect.logInfo : Effect.logWarning)(describeReload(report))
        return report
      }).pipe(oneAtATime.withPermits(1))

    // SIGHUP asks for a reload, as it does of nginx and HAProxy.
    if (source.file !== undefined) {
      const context = yield* Effect.context()
      const onHangup = () => Effect.runForkWith(context)(Effect.ignore(reload))
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("SIGHUP", onHangup)),
        () => Effect.sync(() => process.off("SIGHUP", onHangup))
      )
    }
    return Reloader.of({ reload, current: () => inForce })
  })
)
