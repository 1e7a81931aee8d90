/**
 * Hot reload, on `POST /reload` or SIGHUP: the file is read and validated like at start-up; an
 * invalid one is logged problem by problem and changes nothing. A valid one is applied in one
 * synchronous step (`ReloadTarget`: this process's data path, or every worker's), so no request
 * ever sees half of it: new and changed backends join (`BackendAdded`: spec and policy, health
 * checks included), routes, pools and strategies switch, and backends no longer in the config
 * leave (`BackendRemoved`): they take no new requests and finish those in flight.
 *
 * The backends API's changes (`amend`) are applied the same way and change the config in force,
 * so the next reload diffs against them: it replaces them with the file's backends, and a drained
 * backend the file keeps is undrained.
 *
 * Every other setting that changed is reported, in the answer and the log line: those applied
 * (strategies, routes, health checks, breaker, ...) and those only a restart can apply (listeners,
 * timeouts, logging, ...), which keep their running values (`ConfigDiff.appliedBy` decides).
 * Reloads run one at a time.
 */
import { Clock, Effect, Layer, Semaphore } from "effect"
import type { Result } from "effect"
import { backendOf } from "../domain/BackendEvent.ts"
import { applyReload, describeReload, diffBackends, diffSettings, undrainEvents } from "../domain/config/ConfigDiff.ts"
import { configText } from "../domain/config/ConfigDocument.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { formatProblem } from "../domain/Errors.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { NotReloadable, Reloader } from "../services/Reloader.ts"
import type { Amendment, ReloadReport } from "../services/Reloader.ts"
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
          // A warning, not an error: the proxy keeps serving with the config in force.
          Effect.tapError((error) =>
            Effect.logWarning(
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
        const undrained = undrainEvents(registry.all(), changes.removed, at)
        target.apply({ next, text: file.text, events: [...changes.events, ...undrained] })
        inForce = next
        const report: ReloadReport = {
          added: changes.added,
          updated: [...new Set([...changes.updated, ...undrained.map(backendOf)])],
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
    const amend = <A extends Amendment, E>(edit: (inForce: Config, at: number) => Result.Result<A, E>) =>
      Effect.gen(function*() {
        const change = yield* Effect.fromResult(edit(inForce, yield* Clock.currentTimeMillis))
        if (change.next === inForce && change.events.length === 0) return change
        target.apply({ next: change.next, text: configText(change.next), events: change.events })
        inForce = change.next
        return change
      }).pipe(oneAtATime.withPermits(1))

    return Reloader.of({ reload, current: () => inForce, amend })
  })
)
