/**
 * A clock that only moves when told to: the strategy lab's time. The lab keeps simulated time on
 * its own agenda and moves this clock along with it, so the proxy's timers (probes, the breaker's
 * open periods, slow start's steps) fire at exactly the simulated instants they are due. Its layer
 * (`VirtualClockLive`) also provides Effect's `Clock` and `Scheduler`: every fiber built or run
 * under it sleeps on this clock.
 */
import { Context } from "effect"
import type { Effect } from "effect"

export interface VirtualClockShape {
  /** When the earliest sleeping fiber is due, in ms; `Infinity` when none sleeps. */
  readonly nextTimer: () => number
  /** Moves the clock to `at`, waking every sleeper due by then, in order. */
  readonly advanceTo: (at: number) => Effect.Effect<void>
  /**
   * Lets every fiber with work run until all wait again: the observers of an event just emitted.
   * Dies if one never waits (a fiber that spins would otherwise hang the lab).
   */
  readonly settle: Effect.Effect<void>
}

export class VirtualClock extends Context.Service<VirtualClock, VirtualClockShape>()(
  "switchyard/services/VirtualClock"
) {}
