/**
 * A worker process, as its supervisor forks it (`workers: N`). It waits for its `Start`
 * message, serves until told to drain (or its supervisor is gone, or it gets SIGTERM), then
 * exits. SIGINT and SIGHUP are left to the supervisor: a Ctrl-C or a terminal's hang-up reaches the
 * whole process group, and it is the supervisor that drains every worker in order, or reloads
 * them all.
 */
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { describeListenError, ListenError } from "../domain/Errors.ts"
import type { ToWorker } from "../domain/workers/Protocol.ts"
import { isToWorker } from "../domain/workers/Protocol.ts"
import { WorkerLive } from "../layers/AppLive.ts"
import { makeSupervisorLink } from "../layers/SupervisorLinkLive.ts"
import { workerConfig } from "../layers/WorkerSyncLive.ts"
import type { StartMessage } from "../services/SupervisorLink.ts"

const startMessage = (): Promise<StartMessage> =>
  new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isToWorker(message) || message._tag !== "Start") return
      process.off("message", onMessage)
      resolve(message)
    }
    process.on("message", onMessage)
  })

/** One line for a listener that cannot bind (the supervisor says so too); a stack only for bugs. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const found = Cause.findErrorOption(cause)
  const error: unknown = found._tag === "Some" ? found.value : undefined
  return error instanceof ListenError ? describeListenError(error) : Cause.pretty(cause)
}

const isDrain = (message: unknown): message is Extract<ToWorker, { readonly _tag: "Drain" }> =>
  isToWorker(message) && message._tag === "Drain"

export const runWorker = async (): Promise<void> => {
  if (process.send === undefined) {
    process.stderr.write("switchyard: a worker is started by `switchyard serve` with `workers`, not by hand\n")
    process.exit(2)
  }
  process.on("SIGINT", () => undefined)
  process.on("SIGHUP", () => undefined)
  const start = await startMessage()
  const link = makeSupervisorLink(start)
  const loaded = workerConfig(start.file, start.text, start.reloaded)
  const config = start.port === undefined ? loaded : { ...loaded, server: { ...loaded.server, port: start.port } }
  const fiber = Effect.runFork(
    Layer.launch(WorkerLive(link, config)).pipe(Effect.annotateLogs({ worker: start.id }))
  )
  const stop = () => Effect.runFork(Fiber.interrupt(fiber))
  process.on("message", (message: unknown) => {
    if (isDrain(message)) stop()
  })
  process.on("disconnect", stop)
  process.on("SIGTERM", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  link.flush()
  if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
    process.stderr.write(`switchyard worker ${start.id}: ${describe(exit.cause)}\n`)
    process.exitCode = 1
  }
  process.disconnect?.()
}
