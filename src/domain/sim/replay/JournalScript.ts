/**
 * What an event journal tells a replay: which backends were members (their specs, for a config
 * when none is given), when each was down, and the health and circuit transitions the proxy made
 * (to show next to the replayed ones).
 *
 * "Down" is what the probes saw: from a failed probe after a successful one until the next
 * success. The backend stopped answering somewhere between the last sign of life and the failed
 * probe; the log can move that sign later (a request it answered in between), which is why a
 * period keeps both ends of the doubt (`lastUp`, `failedAt`) and `downChanges` takes the life
 * signs. In the replay, a backend is down (refusing connections, its in-flight requests reset)
 * over that period, whatever the strategy: a backend that was down stays down. Its health and
 * circuit are not scripted: the replayed proxy's probes and breaker find them, as the real
 * ones did, and another config may find them otherwise.
 */
import type { BackendSpec } from "../../Backend.ts"
import type { BackendEvent } from "../../BackendEvent.ts"
import type { BackendPolicy } from "../../BackendPolicy.ts"
import type { BackendChange } from "../BackendModel.ts"

export interface DownPeriod {
  readonly backend: string
  /** The last probe that succeeded before it (or the backend's joining), epoch ms. */
  readonly lastUp: number
  /** The first failed probe. */
  readonly failedAt: number
  /** The first probe that succeeded again; `Infinity` when none did. */
  readonly upAt: number
}

export interface JournalScript {
  /** The last spec and policy of each backend that joined, in order of joining. */
  readonly members: ReadonlyArray<{ readonly spec: BackendSpec; readonly policy: BackendPolicy }>
  readonly downs: ReadonlyArray<DownPeriod>
  /** Health, circuit and ejection transitions, as journaled. */
  readonly transitions: ReadonlyArray<BackendEvent>
}

const isTransition = (event: BackendEvent): boolean =>
  event._tag === "HealthChanged" || event._tag === "CircuitOpened" || event._tag === "CircuitHalfOpened" ||
  event._tag === "CircuitClosed" || event._tag === "EjectionDeclined"

export const scriptOf = (events: Iterable<BackendEvent>): JournalScript => {
  const members = new Map<string, { readonly spec: BackendSpec; readonly policy: BackendPolicy }>()
  const lastUp = new Map<string, number>()
  const failing = new Map<string, DownPeriod>()
  const downs: Array<DownPeriod> = []
  const transitions: Array<BackendEvent> = []
  for (const event of events) {
    if (isTransition(event)) transitions.push(event)
    switch (event._tag) {
      case "BackendAdded":
        members.set(event.spec.name, { spec: event.spec, policy: event.policy })
        if (!lastUp.has(event.spec.name)) lastUp.set(event.spec.name, event.at)
        break
      case "ProbeSucceeded": {
        const down = failing.get(event.backend)
        if (down !== undefined) {
          downs.push({ ...down, upAt: event.at })
          failing.delete(event.backend)
        }
        lastUp.set(event.backend, event.at)
        break
      }
      case "ProbeFailed":
        if (!failing.has(event.backend)) {
          failing.set(event.backend, {
            backend: event.backend,
            lastUp: lastUp.get(event.backend) ?? event.at,
            failedAt: event.at,
            upAt: Number.POSITIVE_INFINITY
          })
        }
        break
      default:
        break
    }
  }
  downs.push(...failing.values())
  downs.sort((a, b) => a.failedAt - b.failedAt)
  return { members: [...members.values()], downs, transitions }
}

/**
 * The period as changes of its backend's model, in ms after `startMs`: down from the last sign
 * of life (`aliveAt`, an answer the log shows after `lastUp`, if later), up at the probe that
 * found it back.
 */
export const downChanges = (period: DownPeriod, aliveAt: number, startMs: number): ReadonlyArray<BackendChange> => {
  const from = Math.min(period.failedAt, Math.max(period.lastUp, aliveAt)) - startMs
  const down: BackendChange = { atMs: Math.max(0, from), down: true }
  return period.upAt === Number.POSITIVE_INFINITY ? [down] : [down, { atMs: period.upAt - startMs, down: false }]
}
