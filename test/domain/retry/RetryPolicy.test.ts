import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Random, Schedule } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { mayRetry, retrySchedule } from "../../../src/domain/retry/RetryPolicy.ts"
import type { FailedAttempt } from "../../../src/domain/retry/RetryPolicy.ts"

const failed = (overrides: Partial<FailedAttempt>): FailedAttempt => ({
  method: "GET",
  outcome: "reset",
  hasBody: false,
  sent: true,
  bodyIntact: true,
  responded: false,
  ...overrides
})

/** The delays (ms) a fresh backoff waits for `inputs`, measured on the TestClock. */
const delays = (settings: Parameters<typeof retrySchedule>[0], inputs: ReadonlyArray<FailedAttempt>) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStepWithSleep(retrySchedule(settings))
    const waited: Array<number> = []
    const driver = yield* Effect.forkChild(Effect.gen(function*() {
      for (const input of inputs) {
        const before = yield* Clock.currentTimeMillis
        const result = yield* Effect.result(step(input))
        if (result._tag === "Failure") return
        waited.push((yield* Clock.currentTimeMillis) - before)
      }
    }))
    yield* TestClock.adjust("1 hour")
    yield* Fiber.join(driver)
    return waited
  })

const settings = { attempts: 4, baseDelay: Duration.millis(100), maxDelay: Duration.millis(300) }

describe("retry policy", () => {
  it("retries only what cannot have been processed twice", () => {
    assert.isTrue(mayRetry(failed({})), "an idempotent GET without body, reset")
    assert.isTrue(mayRetry(failed({ outcome: "timeout", method: "DELETE" })))
    assert.isFalse(mayRetry(failed({ method: "POST" })), "a POST whose bytes reached the backend")
    assert.isFalse(mayRetry(failed({ method: "PUT", hasBody: true })), "a body is never replayed")
    assert.isTrue(mayRetry(failed({ method: "POST", hasBody: true, sent: false, outcome: "connect-failed" })))
    assert.isFalse(
      mayRetry(failed({ method: "POST", hasBody: true, sent: false, bodyIntact: false, outcome: "connect-failed" }))
    )
    assert.isFalse(mayRetry(failed({ responded: true })), "the response head already arrived")
    assert.isFalse(mayRetry(failed({ outcome: "aborted" })))
    assert.isFalse(mayRetry(failed({ outcome: "body-too-large" })))
  })

  it("property: a POST that reached a backend is never retried, whatever else is true", () => {
    // `connect-failed` is the one outcome that says nothing reached it (an HTTP/2 stream refused
    // unprocessed may have begun to go out): see the next property.
    fc.assert(fc.property(
      fc.constantFrom(
        "reset",
        "timeout",
        "bad-response",
        "server-error",
        "success",
        "aborted" as const
      ),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      (outcome, hasBody, bodyIntact, responded) => {
        assert.isFalse(mayRetry({ method: "POST", outcome, hasBody, sent: true, bodyIntact, responded }))
      }
    ))
  })

  it("property: a refused stream (connect-failed after the request began) is retried when its body can be sent again", () => {
    fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.boolean(), (hasBody, bodyIntact, responded) => {
      assert.strictEqual(
        mayRetry({ method: "POST", outcome: "connect-failed", hasBody, sent: true, bodyIntact, responded }),
        !responded && (!hasBody || bodyIntact)
      )
    }))
  })

  it.effect("backs off exponentially with jitter, capped, for at most attempts - 1 retries", () =>
    Effect.gen(function*() {
      const waited = yield* delays(settings, Array.from({ length: 6 }, () => failed({}))).pipe(Random.withSeed("s"))
      assert.strictEqual(waited.length, 3)
      const [first = 0, second = 0, third = 0] = waited
      assert.isTrue(first >= 80 && first <= 120, `first ${first}`)
      assert.isTrue(second >= 160 && second <= 240, `second ${second}`)
      assert.closeTo(third, 300, 1e-6, "the third (400 ms ± 20%) is capped at maxDelay")
    }))

  it.effect("the same seed gives exactly the same delays", () =>
    Effect.gen(function*() {
      const micros = (ms: ReadonlyArray<number>) => ms.map((d) => Math.round(d * 1_000))
      const run = delays(settings, Array.from({ length: 3 }, () => failed({}))).pipe(Random.withSeed("s"))
      assert.deepStrictEqual(micros(yield* run), micros(yield* run))
    }))

  it.effect("different seeds jitter differently", () =>
    Effect.gen(function*() {
      const a = yield* delays(settings, [failed({})]).pipe(Random.withSeed(1))
      const b = yield* delays(settings, [failed({})]).pipe(Random.withSeed(2))
      assert.notDeepEqual(a, b)
    }))

  it.effect("stops at once, without waiting, when the failure may not be retried", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* delays(settings, [failed({ method: "POST" })]), [])
      assert.deepStrictEqual(yield* delays({ ...settings, attempts: 1 }, [failed({})]), [])
    }))
})
