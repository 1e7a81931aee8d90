/**
 * `VirtualClock` on Effect's `TestClock` (`effect/testing`), watched: its sleeps are noted as they
 * begin, so the lab knows where the next timer is; and the tasks its scheduler is given are
 * counted, so `settle` can tell when a round of the scheduler went by with nothing but its own
 * task to run. Provides the watched `Clock` and the counting `Scheduler` beside the service: the
 * layers built on it and the effects run under it all live on this clock.
 */
import { Clock, Context, Duration, Effect, Layer, Scheduler } from "effect"
import { TestClock } from "effect/testing"
import { VirtualClock } from "../services/VirtualClock.ts"

/** Below every other task, so a round of the scheduler runs everyone else's work first. */
const lastPriority = Number.MAX_SAFE_INTEGER

/** Rounds only a fiber that never waits could need: a hang becomes an error instead. */
const maxSettleRounds = 100_000

export const VirtualClockLive = Layer.effectContext(Effect.gen(function*() {
  const built = yield* Layer.build(TestClock.layer())
  const testClock = yield* TestClock.testClockWith(Effect.succeed).pipe(Effect.provideContext(built))
  const inner = Context.get(built, Scheduler.Scheduler)
  let tasks = 0
  const scheduler: Scheduler.Scheduler = {
    executionMode: inner.executionMode,
    shouldYield: (fiber) => inner.shouldYield(fiber),
    makeDispatcher: () => {
      const dispatcher = inner.makeDispatcher()
      return {
        scheduleTask: (task, priority) => {
          tasks++
          dispatcher.scheduleTask(task, priority)
        },
        flush: () => dispatcher.flush()
      }
    }
  }
  const sleepers: Array<number> = []
  const watched: TestClock.TestClock = {
    ...testClock,
    sleep: (duration) => {
      const end = testClock.currentTimeMillisUnsafe() + Duration.toMillis(duration)
      sleepers.push(end)
      return testClock.sleep(duration).pipe(Effect.ensuring(Effect.sync(() => {
        const index = sleepers.indexOf(end)
        if (index >= 0) sleepers.splice(index, 1)
      })))
    }
  }
  const settle = Effect.gen(function*() {
    for (let round = 0; round < maxSettleRounds; round++) {
      const before = tasks
      yield* Effect.yieldNowWith(lastPriority)
      if (tasks === before + 1) return
    }
    return yield* Effect.die(new Error("the proxy's fibers never settled: one of them runs without ever waiting"))
  })
  return Context.make(
    VirtualClock,
    VirtualClock.of({
      nextTimer: () => sleepers.reduce((soonest, end) => Math.min(soonest, end), Number.POSITIVE_INFINITY),
      advanceTo: (at) => testClock.setTime(at),
      settle
    })
  ).pipe(Context.add(Clock.Clock, watched), Context.add(Scheduler.Scheduler, scheduler))
}))
