/**
 * Upstream connections over undici: one `Pool` per backend, created on first use, keep-alive,
 * no pipelining (a slow response must not hold up the next request). Timeouts come from the
 * config: `connect` for the TCP/TLS handshake, `request` until the response headers, `idle`
 * between body chunks and for idle pooled connections.
 */
import { Duration, Effect, Layer } from "effect"
import { Pool } from "undici"
import { originOf } from "../domain/Backend.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Upstream } from "../services/Upstream.ts"

/** How long closing waits for pooled requests before it cuts them off (the listener drained first). */
const closeTimeoutMs = 2_000

export const UpstreamLive = Layer.effect(
  Upstream,
  Effect.gen(function*() {
    const { timeouts } = yield* ProxyConfig
    const idleMs = Duration.toMillis(timeouts.idle)
    const poolOptions: Pool.Options = {
      connections: null,
      pipelining: 1,
      connectTimeout: Duration.toMillis(timeouts.connect),
      headersTimeout: Duration.toMillis(timeouts.request),
      bodyTimeout: idleMs,
      keepAliveTimeout: idleMs,
      keepAliveMaxTimeout: idleMs
    }
    const pools = new Map<string, Pool>()

    const close = (pool: Pool) =>
      Effect.promise(() => pool.close()).pipe(
        Effect.timeoutOrElse({ duration: closeTimeoutMs, orElse: () => Effect.promise(() => pool.destroy()) })
      )

    yield* Effect.addFinalizer(() =>
      Effect.forEach(pools.values(), close, { concurrency: "unbounded", discard: true }).pipe(
        Effect.ensuring(Effect.sync(() => pools.clear()))
      )
    )

    return Upstream.of({
      dispatch: (backend, request, handler) => {
        let pool = pools.get(backend.name)
        if (pool === undefined) {
          pool = new Pool(originOf(backend), poolOptions)
          pools.set(backend.name, pool)
        }
        pool.dispatch(request, handler)
      },
      release: (backend) => {
        const pool = pools.get(backend)
        if (pool === undefined) return
        pools.delete(backend)
        // Graceful: undici lets the pool's in-flight requests finish before it closes.
        void pool.close()
      }
    })
  })
)
