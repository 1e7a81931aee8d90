/**
 * The router: the configured strategy over the registry's pool, the upstream pools, and the
 * per-request exchange, assembled once. The selector is rebuilt only when the registry's version
 * moves (membership, weights), so a pick is a lookup.
 */
import { Clock, Effect, Layer, Random } from "effect"
import type { Excluded } from "../domain/Availability.ts"
import { strategies } from "../domain/selection/Strategies.ts"
import type { RequestFacts, SelectionEnv, StrategySettings } from "../domain/selection/Strategy.ts"
import { handleRequest } from "../http/ProxyExchange.ts"
import type { ExchangeEnv } from "../http/ProxyExchange.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Router } from "../services/Router.ts"
import { Upstream } from "../services/Upstream.ts"

export const RouterLive = Layer.effect(
  Router,
  Effect.gen(function*() {
    const config = yield* ProxyConfig
    const registry = yield* BackendRegistry
    const upstream = yield* Upstream
    const clock = yield* Clock.Clock
    const random = yield* Random.Random

    const strategy = strategies[config.strategy]
    const selectionEnv: SelectionEnv = {
      random: () => random.nextDoubleUnsafe(),
      now: () => clock.currentTimeMillisUnsafe()
    }
    const settings: StrategySettings = { hashKey: config.consistentHash.key }
    let builtFor = registry.version()
    let selector = strategy.build(registry.pool(), selectionEnv, settings)
    const select = (facts: RequestFacts, excluded: Excluded) => {
      if (registry.version() !== builtFor) {
        builtFor = registry.version()
        selector = strategy.build(registry.pool(), selectionEnv, settings)
      }
      return selector.pick(registry.pool(), facts, excluded)
    }

    let draining = false
    const env: ExchangeEnv = {
      registry,
      upstream,
      select,
      now: () => Number(clock.currentTimeNanosUnsafe()) / 1e6,
      maxBodySize: config.server.maxBodySize,
      trustProxy: config.trustProxy,
      proto: "http",
      isDraining: () => draining,
      retryAfterSeconds: () => 1
    }
    return Router.of({
      handle: (request, response) => handleRequest(env, request, response),
      startDraining: () => {
        draining = true
      }
    })
  })
)
