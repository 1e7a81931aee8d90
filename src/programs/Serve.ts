/**
 * `switchyard serve`: run the proxy from a config file until SIGTERM/SIGINT: in this one process,
 * or, with `workers` above 1, as the supervisor of that many worker processes.
 */
import { Effect, Layer } from "effect"
import { availableParallelism } from "node:os"
import { workerCount } from "../domain/workers/WorkerCount.ts"
import { SupervisorLive, SwitchyardLive } from "../layers/AppLive.ts"
import { ProxyConfigLive } from "../layers/ProxyConfigLive.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const proxyFor = Layer.unwrap(Effect.gen(function*() {
  const { workers } = yield* ProxyConfig
  // What the two provide differs; `serve` uses neither's services, only their lifetimes.
  return workerCount(workers, availableParallelism()) > 1
    ? Layer.effectDiscard(Layer.build(SupervisorLive))
    : Layer.effectDiscard(Layer.build(SwitchyardLive))
}))

export const serve = (file: string) => Layer.launch(proxyFor.pipe(Layer.provideMerge(ProxyConfigLive.fromFile(file))))
