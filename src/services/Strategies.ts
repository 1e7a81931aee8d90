/**
 * The strategies a config may name and the router builds selectors from. A reference: a program
 * that provides none gets the built-in table, as the CLI does; an embedding program adds its own
 * with `StrategiesLive`, and both the config's validation and the router then know them.
 */
import { Context } from "effect"
import { builtInStrategies } from "../domain/selection/Strategies.ts"
import type { StrategyTable } from "../domain/selection/Strategies.ts"

export const Strategies = Context.Reference<StrategyTable>("switchyard/services/Strategies", {
  defaultValue: () => builtInStrategies
})
