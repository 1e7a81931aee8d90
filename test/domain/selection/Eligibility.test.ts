/**
 * The one rule every strategy in the table obeys, whatever its algorithm: it picks only a
 * selectable backend (`Availability.isSelectable`), and returns `undefined` exactly when there is
 * none. The laws are `switchyard/testing`'s, the same an embedding program runs on its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { strategies, strategyNames } from "../../../src/domain/selection/Strategies.ts"
import { checkStrategyLaws } from "../../../src/testing/StrategyLaws.ts"

describe("every strategy in the table", () => {
  for (const name of strategyNames) {
    it(`property: ${name} picks only a selectable backend, and none only when none is`, () => {
      checkStrategyLaws(strategies[name])
    })
  }

  it("the table names each strategy by its own name", () => {
    for (const name of strategyNames) assert.strictEqual(strategies[name].name, name)
  })
})
