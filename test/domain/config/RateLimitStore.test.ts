/**
 * `rateLimit.store`: the Redis URL, the per-request timeout and what to do when Redis cannot answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import { loadConfig } from "../../../src/domain/config/ConfigLoader.ts"
import { formatProblem } from "../../../src/domain/Errors.ts"

const file = "config.yaml"
const withStore = (store: string) =>
  loadConfig({
    file,
    text:
      `backends: [{ url: "http://127.0.0.1:9001" }]\nrateLimit: { requestsPerSecond: 5, burst: 10, store: ${store} }\n`,
    env: {}
  })

const problems = (store: string): Array<string> => {
  const result = withStore(store)
  if (Result.isSuccess(result)) return assert.fail("expected the config to be rejected")
  return result.failure.problems.map((problem) => formatProblem(file, problem))
}

describe("rateLimit.store", () => {
  it("defaults to a 50 ms timeout that fails open", () => {
    const result = withStore(`{ redis: "redis://127.0.0.1:6379/0" }`)
    if (Result.isFailure(result)) return assert.fail(result.failure.message)
    const store = result.success.rateLimit?.store
    assert.strictEqual(store?.redis, "redis://127.0.0.1:6379/0")
    assert.strictEqual(store?.onError, "allow")
    assert.strictEqual(store === undefined ? undefined : Duration.toMillis(store.timeout), 50)
  })

  it("takes rediss:// with credentials and no database, and onError deny", () => {
    const result = withStore(`{ redis: "rediss://user:secret@redis.internal", timeout: 20ms, onError: deny }`)
    if (Result.isFailure(result)) return assert.fail(result.failure.message)
    assert.deepInclude(result.success.rateLimit?.store, {
      redis: "rediss://user:secret@redis.internal",
      onError: "deny"
    })
  })

  it("names every problem: a URL of another scheme, a path that is no database, a zero timeout, an unknown onError", () => {
    assert.deepStrictEqual(problems(`{ redis: "http://127.0.0.1:6379" }`), [
      `config.yaml:2:63: rateLimit.store.redis: Expected a redis or rediss URL, got "http:"`
    ])
    assert.deepStrictEqual(problems(`{ redis: "redis://127.0.0.1:6379/zero" }`), [
      `config.yaml:2:63: rateLimit.store.redis: Expected a database number as the path, got "/zero"`
    ])
    assert.deepStrictEqual(problems(`{ redis: "redis://h", timeout: 0ms, onError: ignore }`), [
      "config.yaml:2:85: rateLimit.store.timeout: Expected a duration greater than 0",
      `config.yaml:2:99: rateLimit.store.onError: Expected "allow" | "deny", got "ignore"`
    ])
  })
})
