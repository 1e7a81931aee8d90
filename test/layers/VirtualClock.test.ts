/**
 * The strategy lab's clock: it says when the next sleeper is due, wakes sleepers in the order of
 * their times when moved, and lets every fiber with work run before `settle` returns (or dies
 * when one never waits, instead of hanging).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Queue } from "effect"
import { VirtualClockLive } from "../../src/layers/VirtualClockLive.ts"
import { VirtualClock } from "../../src/services/VirtualClock.ts"

/** Sleeps `ms` on the clock in context, then notes the time it woke at. */
const sleeper = (ms: number, woke: Array<number>) =>
  Effect.sleep(ms).pipe(Effect.andThen(Clock.currentTimeMillis), Effect.map((at) => woke.push(at)), Effect.forkChild)

describe("VirtualClock", () => {
  it.effect("the next timer is the earliest sleeper's due time, Infinity once none sleeps", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock
      const woke: Array<number> = []
      assert.strictEqual(clock.nextTimer(), Number.POSITIVE_INFINITY)
      yield* sleeper(300, woke)
      yield* sleeper(100, woke)
      yield* clock.settle
      assert.strictEqual(clock.nextTimer(), 100)
      yield* clock.advanceTo(100)
      yield* clock.settle
      assert.strictEqual(clock.nextTimer(), 300)
      yield* clock.advanceTo(300)
      yield* clock.settle
      assert.strictEqual(clock.nextTimer(), Number.POSITIVE_INFINITY)
      assert.deepStrictEqual(woke, [100, 300])
    }).pipe(Effect.provide(VirtualClockLive)))

  it.effect("moving the clock wakes every sleeper due by then, in the order of their times, and no other", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock
      const woke: Array<number> = []
      yield* sleeper(200, woke)
      yield* sleeper(100, woke)
      yield* sleeper(300, woke)
      yield* clock.settle
      yield* clock.advanceTo(250)
      assert.deepStrictEqual(woke, [100, 200])
      assert.strictEqual(yield* Clock.currentTimeMillis, 250)
      assert.strictEqual(clock.nextTimer(), 300)
    }).pipe(Effect.provide(VirtualClockLive)))

  it.effect("settle returns only once an observer has handled what it was sent, however many steps it takes", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock
      const events = yield* Queue.unbounded<number>()
      const handled: Array<number> = []
      yield* Queue.take(events).pipe(
        Effect.tap(() => Effect.yieldNow),
        Effect.tap(() => Effect.yieldNow),
        Effect.map((n) => handled.push(n)),
        Effect.forever,
        Effect.forkChild
      )
      yield* clock.settle
      yield* Queue.offer(events, 1)
      yield* Queue.offer(events, 2)
      yield* clock.settle
      assert.deepStrictEqual(handled, [1, 2])
    }).pipe(Effect.provide(VirtualClockLive)))

  it.effect("settle dies, naming the cause, when a fiber runs without ever waiting", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock
      const spinner = yield* Effect.yieldNow.pipe(Effect.forever, Effect.forkChild)
      const exit = yield* Effect.exit(clock.settle)
      yield* Fiber.interrupt(spinner)
      assert.isTrue(Exit.isFailure(exit))
      const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.strictEqual(
        defect instanceof Error ? defect.message : undefined,
        "the proxy's fibers never settled: one of them runs without ever waiting"
      )
    }).pipe(Effect.provide(VirtualClockLive)))
})
