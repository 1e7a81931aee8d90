/**
 * The router: routing (route table and each pool's strategy) over the registry, the upstream
 * pools, and the per-request exchange (and upgrade tunnel), assembled once. `reconfigure` swaps the routing for a new
 * config's (hot reload); requests already under way keep the backend they were given.
 */
import { Clock, Duration, Effect, Exit, Layer, Random } from "effect"
import { retryAfterSeconds } from "../domain/Availability.ts"
import { makeRouting } from "../domain/routing/Routing.ts"
import type { SelectionEnv } from "../domain/selection/Strategy.ts"
import { handleRequest } from "../http/ProxyExchange.ts"
import type { ExchangeEnv } from "../http/ProxyExchange.ts"
import { handleUpgrade } from "../http/UpgradeTunnel.ts"
import type { TunnelEnv } from "../http/UpgradeTunnel.ts"
import { AccessLog } from "../services/AccessLog.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { Metrics } from "../services/Metrics.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { ResponseCache } from "../services/ResponseCache.ts"
import { RetryBackoff } from "../services/RetryBackoff.ts"
import { RetryBudget } from "../services/RetryBudget.ts"
import { Router } from "../services/Router.ts"
import { Strategies } from "../services/Strategies.ts"
import { Tracing } from "../services/Tracing.ts"
import { Upstream } from "../services/Upstream.ts"

export const RouterLive = Layer.effect(
  Router,
  Effect.gen(function*() {
    const config = yield* ProxyConfig
    const registry = yield* BackendRegistry
    const upstream = yield* Upstream
    const metrics = yield* Metrics
    const accessLog = yield* AccessLog
    const tracing = yield* Tracing
    const rateLimiter = yield* RateLimiter
    const cache = yield* ResponseCache
    const retryBudget = yield* RetryBudget
    const retryBackoff = yield* RetryBackoff
    const clock = yield* Clock.Clock
    const random = yield* Random.Random
    const table = yield* Strategies

    const selectionEnv: SelectionEnv = {
      random: () => random.nextDoubleUnsafe(),
      now: () => clock.currentTimeMillisUnsafe()
    }
    let routing = makeRouting(config, registry, selectionEnv, table)

    // A backoff's wait runs on this layer's own clock, so TestClock governs it in tests. Only a
    // request that failed waits: the happy path never enters an Effect.
    const runFork = Effect.runForkWith(yield* Effect.context())
    const wait = (ms: number, then: () => void) => {
      const fiber = runFork(Effect.sleep(ms))
      let cancelled = false
      fiber.addObserver((exit) => {
        if (!cancelled && Exit.isSuccess(exit)) then()
      })
      return () => {
        cancelled = true
        fiber.interruptUnsafe()
      }
    }

    let draining = false
    const env: ExchangeEnv = {
      registry,
      upstream,
      route: (host, target) => routing.route(host, target),
      select: (pool, facts, excluded) => routing.select(pool, facts, excluded),
      now: () => Number(clock.currentTimeNanosUnsafe()) / 1e6,
      maxBodySize: config.server.maxBodySize,
      trustProxy: config.trustProxy,
      // The scheme of the proxy listener, which is HTTPS exactly when the config gives it a certificate.
      proto: config.server.tls === undefined ? "http" : "https",
      isDraining: () => draining,
      retryAfterSeconds: (pool) => retryAfterSeconds(registry.pool(pool), clock.currentTimeMillisUnsafe()),
      maxAttempts: config.retry.attempts,
      backoff: retryBackoff.fresh,
      wait,
      retryBudget,
      completed: (record) => {
        metrics.recordRequest(record)
        accessLog.append(record)
      },
      startTrace: tracing.startRequest,
      admit: rateLimiter.admit,
      cache: cache.lookup
    }
    const tunnelEnv: TunnelEnv = {
      ...env,
      connectTimeoutMs: Duration.toMillis(config.timeouts.connect),
      requestTimeoutMs: Duration.toMillis(config.timeouts.request),
      idleTimeoutMs: Duration.toMillis(config.timeouts.idle)
    }
    return Router.of({
      handle: (request, response) => handleRequest(env, request, response),
      upgrade: (request, socket, head) => handleUpgrade(tunnelEnv, request, socket, head),
      startDraining: () => {
        draining = true
      },
      reconfigure: (next) => {
        routing = makeRouting(next, registry, selectionEnv, table)
      }
    })
  })
)
