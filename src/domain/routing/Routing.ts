/**
 * The router's decision, minus the I/O: which pool a request belongs to (the route table) and
 * which of that pool's backends takes it (the pool's strategy). Each pool's selector is rebuilt
 * from the registry's pool when the registry's version moves, never per request. A new config
 * (hot reload) means a new `Routing`; the old one is simply dropped.
 */
import type { Excluded } from "../Availability.ts"
import { defaultPool } from "../Backend.ts"
import type { BackendState } from "../BackendState.ts"
import type { Config } from "../config/ConfigLoader.ts"
import { poolsOf } from "../config/ConfigLoader.ts"
import { builtInStrategies } from "../selection/Strategies.ts"
import type { StrategyTable } from "../selection/Strategies.ts"
import type { RequestFacts, SelectionEnv, Selector, Strategy, StrategySettings } from "../selection/Strategy.ts"
import { buildRouteTable } from "./RouteTable.ts"

/** What routing reads from the registry. */
export interface PoolView {
  readonly pool: (name: string) => ReadonlyArray<BackendState>
  readonly version: () => number
}

export interface Routing {
  /** The pool for a request, from its `Host` and target. */
  readonly route: (host: string | undefined, target: string) => string
  readonly select: (pool: string, facts: RequestFacts, excluded: Excluded) => BackendState | undefined
}

interface PoolSelection {
  readonly strategy: Strategy
  selector: Selector | undefined
  builtFor: number
}

/** The strategy a pool names; the config was validated against the same table, so it is there. */
const strategyOf = (table: StrategyTable, name: string): Strategy => {
  const strategy = table.get(name)
  if (strategy === undefined) throw new Error(`strategy "${name}" is not in the strategy table (see StrategiesLive)`)
  return strategy
}

export const makeRouting = (
  config: Config,
  view: PoolView,
  env: SelectionEnv,
  strategyTable: StrategyTable = builtInStrategies
): Routing => {
  const settings: StrategySettings = {
    hashKey: config.consistentHash.key,
    balanceFactor: config.consistentHash.balanceFactor
  }
  const table = buildRouteTable(
    (config.routes ?? []).map((route) => ({
      host: route.match.host,
      pathPrefix: route.match.pathPrefix,
      pool: route.pool
    })),
    defaultPool
  )
  const selections = new Map<string, PoolSelection>(
    poolsOf(config).map((pool) => [
      pool.name,
      { strategy: strategyOf(strategyTable, pool.strategy), selector: undefined, builtFor: -1 }
    ])
  )
  return {
    route: table.lookup,
    select: (pool, facts, excluded) => {
      const selection = selections.get(pool)
      if (selection === undefined) return undefined
      const members = view.pool(pool)
      const version = view.version()
      if (selection.selector === undefined || selection.builtFor !== version) {
        selection.selector = selection.strategy.build(members, env, settings)
        selection.builtFor = version
      }
      return selection.selector.pick(members, facts, excluded)
    }
  }
}
