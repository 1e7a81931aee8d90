/**
 * The proxy listener as a scoped resource: bound when the layer is built, drained when its scope
 * closes (SIGTERM/SIGINT through `NodeRuntime.runMain`): stop accepting, finish in-flight requests
 * within `server.gracePeriod`, close idle connections, then the tunnels still open. With
 * `server.tls` it speaks HTTPS, with the certificate and key the config check has already read
 * and matched.
 */
import { Duration, Effect, Layer } from "effect"
import { readFile } from "node:fs/promises"
import { ListenError } from "../domain/Errors.ts"
import { drain, listen, makeProxyListener } from "../http/ProxyListener.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { ProxyServer } from "../services/ProxyServer.ts"
import { Router } from "../services/Router.ts"

export interface ProxyServerOptions {
  /** One of several workers' listeners on the same port (`SO_REUSEPORT`). */
  readonly reusePort: boolean
}

export const proxyServerLayer = (options: ProxyServerOptions) =>
  Layer.effect(
    ProxyServer,
    Effect.gen(function*() {
      const { server, timeouts } = yield* ProxyConfig
      const router = yield* Router
      const tls = server.tls === undefined ? undefined : yield* readPems(server.tls, server.host, server.port)
      const listener = makeProxyListener(
        {
          maxHeaderSize: server.maxHeaderSize,
          headersTimeoutMs: Duration.toMillis(timeouts.headers),
          idleTimeoutMs: Duration.toMillis(timeouts.idle),
          http2: server.http2,
          h2c: server.h2c,
          http2MaxStreams: server.http2MaxStreams,
          ...(tls === undefined ? {} : { tls })
        },
        router.handle,
        router.upgrade
      )
      const address = yield* Effect.acquireRelease(
        listen(listener.server, "proxy", server.host, server.port, options.reusePort),
        () =>
          Effect.sync(router.startDraining).pipe(
            Effect.andThen(drain(listener, server.gracePeriod)),
            Effect.andThen(Effect.logInfo("proxy listener closed"))
          )
      )
      yield* Effect.logInfo(
        `proxy listening on ${tls === undefined ? "http" : "https"}://${address.host}:${address.port}${
          listener.http2 === undefined ? "" : tls === undefined ? " (HTTP/1.1 and h2c)" : " (h2 and HTTP/1.1)"
        }`
      )
      return ProxyServer.of({ address })
    })
  )

export const ProxyServerLive = proxyServerLayer({ reusePort: false })

/** The certificate and key files; checked when the config was read, so failing here means they changed since. */
const readPems = (files: { readonly cert: string; readonly key: string }, host: string, port: number) =>
  Effect.tryPromise({
    try: async () => ({ cert: await readFile(files.cert, "utf8"), key: await readFile(files.key, "utf8") }),
    catch: (error) =>
      new ListenError({
        listener: "proxy",
        host,
        port,
        message: `cannot read the TLS certificate or key: ${error instanceof Error ? error.message : String(error)}`
      })
  })
