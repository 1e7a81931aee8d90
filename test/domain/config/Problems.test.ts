/**
 * "Did you mean" on a misspelt choice: a field that accepts a fixed set of strings names the
 * nearest one, as an unknown key names the key that was probably meant.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { loadConfig } from "../../../src/domain/config/ConfigLoader.ts"
import { formatProblem } from "../../../src/domain/Errors.ts"
import { strategyNames } from "../../../src/domain/selection/Strategies.ts"

const strategies = strategyNames.map((name) => `"${name}"`).join(" | ")

const problems = (text: string, env: Record<string, string> = {}): Array<string> => {
  const result = loadConfig({ file: "c.yaml", text, env })
  if (Result.isSuccess(result)) return assert.fail("expected the config to be rejected")
  return result.failure.problems.map((problem) => formatProblem("c.yaml", problem))
}

describe("did you mean, for choices", () => {
  it("a strategy one letter off names the strategy", () => {
    assert.deepStrictEqual(problems("strategy: weighted-round-robbin\nbackends: [{ url: 'http://a:1' }]\n"), [
      `c.yaml:1:11: strategy: Expected ${strategies}, got "weighted-round-robbin" (did you mean "weighted-round-robin"?)`
    ])
  })

  it("the nearest choice is named, not the first one near enough", () => {
    assert.deepStrictEqual(problems("backends: [{ url: 'http://a:1', protocol: h2cc }]\n"), [
      `c.yaml:1:43: backends[0].protocol: Expected "http1" | "h2c" | "h2", got "h2cc" (did you mean "h2c"?)`
    ])
  })

  it("a choice in the wrong case is named in the right one", () => {
    assert.include(
      problems("strategy: Round-Robin\nbackends: [{ url: 'http://a:1' }]\n")[0] ?? "",
      `got "Round-Robin" (did you mean "round-robin"?)`
    )
  })

  it("a value from the environment gets the suggestion too", () => {
    assert.deepStrictEqual(problems("backends: [{ url: 'http://a:1' }]\n", { LB_STRATEGY: "p2c-ewm" }), [
      `LB_STRATEGY (environment): strategy: Expected ${strategies}, got "p2c-ewm" (did you mean "p2c-ewma"?)`
    ])
  })

  it("nothing is suggested when no choice is near", () => {
    assert.deepStrictEqual(problems("strategy: fastest\nbackends: [{ url: 'http://a:1' }]\n"), [
      `c.yaml:1:11: strategy: Expected ${strategies}, got "fastest"`
    ])
  })
})
