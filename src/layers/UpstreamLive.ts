/**
 * Upstream connections over undici: per backend, two keep-alive `Pool`s created on first use, no
 * pipelining (a slow response must not hold up the next request). Timeouts come from the config:
 * `connect` for the TCP/TLS handshake, `request` until the response head (held by the handler,
 * see `Upstream.requestTimeoutMs`), `idle` between body chunks and for idle pooled connections.
 *
 * Why two pools. A backend closes a keep-alive connection once it has been idle for its own
 * timeout (gunicorn 2 s, Node 5 s, Apache 5 s, nginx 75 s), and a request written just as it
 * does is lost before any byte of it is read. A bodiless idempotent request lost that way is
 * replayed on a fresh connection (`ProxyExchange`); one with a body, or with a method that is
 * not idempotent, must not be (from here it cannot be told from a request the backend processed
 * and then died on), so its client would get a `502`. So:
 * - `replayable` — bodiless idempotent requests: connections kept for `timeouts.idle`, since a
 *   stale one costs only a replay;
 * - `oneShot` — everything else: connections kept for at most `oneShotKeepAliveMs` (1 s) after
 *   their last response, below any common backend idle timeout. Such a request goes out on a
 *   connection that has just proven alive, or on a new one (the idea of HAProxy's
 *   `http-reuse safe`: never risk on a possibly dead connection what cannot be retried). Under
 *   steady traffic its connections stay warm; a request after a quiet second pays a new connect.
 * Both honour a backend's `Keep-Alive: timeout=N` hint: undici keeps a connection for at most
 * N − 2 s (`keepAliveTimeoutThreshold`, 2 s by default), and not at all when N ≤ 2 s.
 *
 * Every connection is watched for unsolicited `100 Continue` heads (`UnsolicitedContinue`),
 * through a connector built as undici builds its own.
 */
import { Duration, Effect, Layer } from "effect"
import { buildConnector, Pool } from "undici"
import { originOf, pathPrefixOf } from "../domain/Backend.ts"
import { isIdempotent } from "../domain/retry/RetryPolicy.ts"
import { stripUnsolicitedContinue } from "../http/UnsolicitedContinue.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Upstream } from "../services/Upstream.ts"

/** How long closing waits for pooled requests before it cuts them off (the listener drained first). */
const closeTimeoutMs = 2_000

/** The longest a connection for requests that cannot be replayed stays idle in its pool. */
const oneShotKeepAliveMs = 1_000

/**
 * How much later than `timeouts.request` undici's own header timer fires, as a backstop for a
 * handler that does not hold the deadline: later than the handler's timer by more than the half
 * second undici's timers may lag.
 */
const headersBackstopMs = 1_000

interface BackendPools {
  readonly replayable: Pool
  readonly oneShot: Pool
  readonly prefix: string
}

export const UpstreamLive = Layer.effect(
  Upstream,
  Effect.gen(function*() {
    const { timeouts } = yield* ProxyConfig
    const idleMs = Duration.toMillis(timeouts.idle)
    const requestTimeoutMs = Duration.toMillis(timeouts.request)
    // One connector for every pool, so TLS sessions are resumed across them.
    const connectSocket = buildConnector({ timeout: Duration.toMillis(timeouts.connect) })
    const connect: buildConnector.connector = (options, callback) =>
      connectSocket(options, (...result) => {
        // On failure undici passes the error alone (no `null` socket after it, whatever its types say).
        // A TLS socket is a `Socket` too; an h2 session never calls `read`/`write` on it.
        if (result[0] === null) stripUnsolicitedContinue(result[1])
        callback(...result)
      })
    const replayableOptions: Pool.Options = {
      connections: null,
      pipelining: 1,
      connect,
      headersTimeout: requestTimeoutMs + headersBackstopMs,
      bodyTimeout: idleMs,
      keepAliveTimeout: idleMs,
      keepAliveMaxTimeout: idleMs
    }
    const oneShotOptions: Pool.Options = {
      ...replayableOptions,
      keepAliveTimeout: Math.min(idleMs, oneShotKeepAliveMs),
      keepAliveMaxTimeout: Math.min(idleMs, oneShotKeepAliveMs)
    }
    const pools = new Map<string, BackendPools>()

    const close = (pool: Pool) =>
      Effect.promise(() => pool.close()).pipe(
        Effect.timeoutOrElse({ duration: closeTimeoutMs, orElse: () => Effect.promise(() => pool.destroy()) })
      )

    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        Array.from(pools.values()).flatMap(({ oneShot, replayable }) => [replayable, oneShot]),
        close,
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.ensuring(Effect.sync(() => pools.clear())))
    )

    return Upstream.of({
      dispatch: (backend, request, handler) => {
        let entry = pools.get(backend.name)
        if (entry === undefined) {
          const origin = originOf(backend)
          entry = {
            replayable: new Pool(origin, replayableOptions),
            oneShot: new Pool(origin, oneShotOptions),
            prefix: pathPrefixOf(backend)
          }
          pools.set(backend.name, entry)
        }
        const pool = request.body === null && isIdempotent(request.method) ? entry.replayable : entry.oneShot
        pool.dispatch({
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
        // Graceful: undici lets the pools' in-flight requests finish before they close.
        void entry.replayable.close()
        void entry.oneShot.close()
      },
      requestTimeoutMs
    })
  })
)
