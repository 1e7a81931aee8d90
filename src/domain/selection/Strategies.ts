/**
 * The strategy table: config name → strategy. Adding a strategy is one file and one row here;
 * the config schema takes its accepted names from this table. An embedding program may lay its
 * own strategies beside these (`withStrategies`, provided as `StrategiesLive`); the CLI knows
 * only these.
 */
import { Result } from "effect"
import { ConsistentHash } from "./ConsistentHash.ts"
import { IpHash } from "./IpHash.ts"
import { LeastConnections } from "./LeastConnections.ts"
import { LeastDynamicScore } from "./LeastDynamicScore.ts"
import { LeastEwma } from "./LeastEwma.ts"
import { P2cEwma } from "./P2cEwma.ts"
import { Random } from "./Random.ts"
import { RoundRobin } from "./RoundRobin.ts"
import type { Strategy } from "./Strategy.ts"
import { WeightedRandom } from "./WeightedRandom.ts"
import { WeightedRoundRobin } from "./WeightedRoundRobin.ts"

export const strategies = {
  "round-robin": RoundRobin,
  "weighted-round-robin": WeightedRoundRobin,
  "random": Random,
  "weighted-random": WeightedRandom,
  "least-connections": LeastConnections,
  "least-ewma": LeastEwma,
  "least-dynamic-score": LeastDynamicScore,
  "p2c-ewma": P2cEwma,
  "ip-hash": IpHash,
  "consistent-hash": ConsistentHash
} as const satisfies Record<string, Strategy>

export type StrategyName = keyof typeof strategies

export const strategyNames = Object.keys(strategies) as ReadonlyArray<StrategyName>

/** Strategies by config name, as the router looks them up and the config is validated against. */
export type StrategyTable = ReadonlyMap<string, Strategy>

export const builtInStrategies: StrategyTable = new Map(Object.entries(strategies))

/**
 * The built-in table with `own` beside it, or the names that clash: each strategy's `name` is
 * its config name, so it may neither reuse a built-in name nor appear twice.
 */
export const withStrategies = (own: ReadonlyArray<Strategy>): Result.Result<StrategyTable, ReadonlyArray<string>> => {
  const table = new Map(builtInStrategies)
  const clashes: Array<string> = []
  for (const strategy of own) {
    if (table.has(strategy.name)) clashes.push(strategy.name)
    else table.set(strategy.name, strategy)
  }
  return clashes.length === 0 ? Result.succeed(table) : Result.fail(clashes)
}
