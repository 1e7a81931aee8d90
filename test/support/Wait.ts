/**
 * Waiting on real sockets: polls a condition until it holds (at most 5 s). Used only where the
 * world being waited on is real I/O; anything driven by time alone uses TestClock instead.
 */
import { Effect, Schedule } from "effect"

export const waitUntil = (condition: () => boolean): Effect.Effect<void, unknown> =>
  Effect.sync(condition).pipe(
    Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("10 millis") }),
    Effect.timeout("5 seconds"),
    Effect.asVoid
  )
