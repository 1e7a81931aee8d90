/**
 * The strategy table: config name → strategy. Adding a strategy is one file and one row here;
 * the config schema takes its accepted names from this table.
 */
import { RoundRobin } from "./RoundRobin.ts"
import type { Strategy } from "./Strategy.ts"
import { WeightedRoundRobin } from "./WeightedRoundRobin.ts"

export const strategies = {
  "round-robin": RoundRobin,
  "weighted-round-robin": WeightedRoundRobin
} as const satisfies Record<string, Strategy>

export type StrategyName = keyof typeof strategies

export const strategyNames = Object.keys(strategies) as ReadonlyArray<StrategyName>
