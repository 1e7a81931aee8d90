/**
 * Upstream connections over undici: one `Pool` per backend, created on first use, keep-alive,
 * no pipelining (a slow response must not hold up the next request). Timeouts come from the
 * config: `connect` for the TCP/TLS handshake, `request` until the response head (held by the
 * handler, see `Upstream.requestTimeoutMs`), `idle` between body chunks and for idle pooled
 * connections.
 */
import { Duration, Effect, Layer } from "effect"
import { Pool } from "undici"
import { originOf, pathPrefixOf } from "../domain/Backend.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Upstream } from "../services/Upstream.ts"

/** How long closing waits for pooled requests before it cuts them off (the listener drained first). */
const closeTimeoutMs = 2_000

/**
 * How much later than `timeouts.request` undici's own header timer fires, as a backstop for a
 * handler that does not hold the deadline: later than the handler's timer by more than the half
 * second undici's timers may lag.
 */
const headersBackstopMs = 1_000

export const UpstreamLive = Layer.effect(
  Upstream,
  Effect.gen(function*() {
    const { timeouts } = yield* ProxyConfig
    const idleMs = Duration.toMillis(timeouts.idle)
    const requestTimeoutMs = Duration.toMillis(timeouts.request)
    const poolOptions: Pool.Options = {
      connections: null,
      pipelining: 1,
      connectTimeout: Duration.toMillis(timeouts.connect),
      headersTimeout: requestTimeoutMs + headersBackstopMs,
      bodyTimeout: idleMs,
      keepAliveTimeout: idleMs,
      keepAliveMaxTimeout: idleMs
    }
    const pools = new Map<string, { readonly pool: Pool; readonly prefix: string }>()

    const close = (pool: Pool) =>
      Effect.promise(() => pool.close()).pipe(
        Effect.timeoutOrElse({ duration: closeTimeoutMs, orElse: () => Effect.promise(() => pool.destroy()) })
      )

    yield* Effect.addFinalizer(() =>
      Effect.forEach(pools.values(), ({ pool }) => close(pool), { concurrency: "unbounded", discard: true }).pipe(
        Effect.ensuring(Effect.sync(() => pools.clear()))
      )
    )

    return Upstream.of({
      dispatch: (backend, request, handler) => {
        let entry = pools.get(backend.name)
        if (entry === undefined) {
          entry = { pool: new Pool(originOf(backend), poolOptions), prefix: pathPrefixOf(backend) }
          pools.set(backend.name, entry)
        }
        entry.pool.dispatch({
          method: request.method,
          path: entry.prefix === "" ? request.path : entry.prefix + request.path,
          headers: request.headers,
          body: request.body
        }, handler)
      },
      release: (backend) => {
        const entry = pools.get(backend)
        if (entry === undefined) return
        pools.delete(backend)
        // Graceful: undici lets the pool's in-flight requests finish before it closes.
        void entry.pool.close()
      },
      requestTimeoutMs
    })
  })
)
