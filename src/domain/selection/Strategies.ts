/**
 * The strategy table: config name → strategy. Adding a strategy is one file and one row here;
 * the config schema takes its accepted names from this table.
 */
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
