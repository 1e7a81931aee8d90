/**
 * The proxy listener as a scoped resource: bound when the layer is built, drained when its scope
 * closes (SIGTERM/SIGINT through `NodeRuntime.runMain`): stop accepting, finish in-flight requests
 * within `server.gracePeriod`, close idle connections.
 */
import { Duration, Effect, Layer } from "effect"
import { drain, listen, makeProxyListener } from "../http/ProxyListener.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { ProxyServer } from "../services/ProxyServer.ts"
import { Router } from "../services/Router.ts"

export const ProxyServerLive = Layer.effect(
  ProxyServer,
  Effect.gen(function*() {
    const { server, timeouts } = yield* ProxyConfig
    const router = yield* Router
    const listener = makeProxyListener({
      maxHeaderSize: server.maxHeaderSize,
      headersTimeoutMs: Duration.toMillis(timeouts.headers),
      idleTimeoutMs: Duration.toMillis(timeouts.idle)
    }, router.handle)
    const address = yield* Effect.acquireRelease(
      listen(listener.server, "proxy", server.host, server.port),
      () =>
        Effect.sync(router.startDraining).pipe(
          Effect.andThen(drain(listener, server.gracePeriod)),
          Effect.andThen(Effect.logInfo("proxy listener closed"))
        )
    )
    yield* Effect.logInfo(`proxy listening on http://${address.host}:${address.port}`)
    return ProxyServer.of({ address })
  })
)
