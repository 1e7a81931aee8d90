/**
 * Upstream connections, per backend, created on first use: keep-alive HTTP/1.1 connections
 * (`BackendConnections`, `Http1Connection`), no pipelining; or for a backend with `protocol: h2c`
 * or `h2`, HTTP/2 sessions with a stream per request (`Http2Backend`). Timeouts come from the
 * config: `connect` for the TCP/TLS handshake (HTTP/2: until the backend's SETTINGS), `request`
 * until the response head (held by the handler, see `Upstream.requestTimeoutMs`), `idle` between
 * body chunks and for idle connections.
 *
 * Why not undici, which this used before: the same proxy on it cost about 14 µs more CPU per
 * request (measured in docs/performance.md) — its request object, header validation, header
 * object and timers per request — and its parser could not skip an unsolicited `100 Continue`.
 * Node's own llhttp parser, with the head written as one string, does what is needed here.
 */
import { Duration, Effect, Layer } from "effect"
import { pathPrefixOf } from "../domain/Backend.ts"
import type { BackendSpec } from "../domain/Backend.ts"
import { isIdempotent } from "../domain/retry/RetryPolicy.ts"
import type { BackendClient } from "../http/upstream/BackendClient.ts"
import { BackendConnections } from "../http/upstream/BackendConnections.ts"
import type { ConnectionSettings } from "../http/upstream/Http1Connection.ts"
import { Http2Backend } from "../http/upstream/Http2Backend.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Upstream } from "../services/Upstream.ts"

/** How long closing waits for requests still in flight before it cuts them off (the listener drained first). */
const closeTimeoutMs = 2_000

interface BackendPool {
  readonly connections: BackendClient
  readonly prefix: string
}

const clientFor = (backend: BackendSpec, settings: ConnectionSettings): BackendClient =>
  backend.protocol === undefined
    ? new BackendConnections(backend, settings)
    : new Http2Backend(backend, settings)

export const UpstreamLive = Layer.effect(
  Upstream,
  Effect.gen(function*() {
    const { timeouts } = yield* ProxyConfig
    const settings = {
      connectTimeoutMs: Duration.toMillis(timeouts.connect),
      idleMs: Duration.toMillis(timeouts.idle)
    }
    const pools = new Map<string, BackendPool>()

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const all = Array.from(pools.values(), (pool) => pool.connections)
        pools.clear()
        for (const connections of all) connections.close()
        yield* Effect.promise(() => Promise.all(all.map((connections) => connections.drained()))).pipe(
          Effect.timeoutOrElse({ duration: closeTimeoutMs, orElse: () => Effect.void })
        )
        for (const connections of all) connections.destroy()
      })
    )

    return Upstream.of({
      dispatch: (backend, request, handler) => {
        let pool = pools.get(backend.name)
        if (pool === undefined) {
          pool = { connections: clientFor(backend, settings), prefix: pathPrefixOf(backend) }
          pools.set(backend.name, pool)
        }
        const replayable = request.body === null && isIdempotent(request.method)
        const target = pool.prefix === "" ? request.path : pool.prefix + request.path
        pool.connections.dispatch(target, request, handler, replayable)
      },
      release: (backend) => {
        const pool = pools.get(backend)
        if (pool === undefined) return
        pools.delete(backend)
        pool.connections.close()
      },
      requestTimeoutMs: Duration.toMillis(timeouts.request)
    })
  })
)
