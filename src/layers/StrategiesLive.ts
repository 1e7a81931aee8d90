/**
 * An embedding program's own strategies beside the built-in ones. Provide it around the whole
 * app (`AppLive(...).pipe(Layer.provide(StrategiesLive([mine])))`) so that the config layer
 * accepts their names and the router builds them. A strategy named like another is a defect of
 * the program, not of its config: the layer dies naming it.
 */
import { Effect, Layer, Result } from "effect"
import { withStrategies } from "../domain/selection/Strategies.ts"
import type { Strategy } from "../domain/selection/Strategy.ts"
import { Strategies } from "../services/Strategies.ts"

export const StrategiesLive = (own: ReadonlyArray<Strategy>) =>
  Layer.effect(
    Strategies,
    Effect.suspend(() => {
      const table = withStrategies(own)
      return Result.isSuccess(table)
        ? Effect.succeed(table.success)
        : Effect.die(new Error(`strategy names already taken: ${table.failure.join(", ")}`))
    })
  )
