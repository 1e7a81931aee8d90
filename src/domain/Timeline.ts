/**
 * A journal, read back: fold its events with the same `evolve` the proxy used, and list every
 * change of membership, health and circuit with its reason. This is how any decision the proxy
 * made about a backend can be explained afterwards.
 */
import { poolOf } from "./Backend.ts"
import type { BackendEvent } from "./BackendEvent.ts"
import { backendOf } from "./BackendEvent.ts"
import type { BackendState } from "./BackendState.ts"
import type { Circuit } from "./breaker/Circuit.ts"
import { evolveInPool } from "./PoolEvolve.ts"
import { transitions } from "./Transitions.ts"

export interface TimelineEntry {
  readonly at: number
  readonly backend: string
  readonly kind: "membership" | "health" | "circuit"
  readonly from: string
  readonly to: string
  readonly reason: string
}

export interface Replay {
  /** Each backend's state after the last event (removed and drained backends are gone). */
  readonly states: ReadonlyMap<string, BackendState>
  readonly timeline: ReadonlyArray<TimelineEntry>
}

const circuitName = (circuit: Circuit): string =>
  circuit._tag === "Closed" ? "closed" : circuit._tag === "Open" ? "open" : "half-open"

const health = (state: BackendState | undefined): string =>
  state === undefined ? "absent" : state.healthy ? "healthy" : "unhealthy"

/** The reason a transition carries, whether the event was the transition or its cause. */
const reasonFor = (
  kind: "health" | "circuit",
  event: BackendEvent,
  before: BackendState,
  after: BackendState
): string => {
  const report = [event, ...transitions(before, after, event)].find((e) =>
    kind === "health" ? e._tag === "HealthChanged" : e._tag.startsWith("Circuit")
  )
  if (report?._tag === "HealthChanged" || report?._tag === "CircuitOpened") return report.reason
  if (report?._tag === "CircuitHalfOpened") return "the open period ended"
  if (report?._tag === "CircuitClosed") return "trial requests succeeded"
  return event._tag
}

/**
 * Events that rebuild `state`'s membership, health and circuit from nothing: what a journal
 * opened on a running registry writes first, since it cannot see the events that came before.
 * A draining backend's in-flight requests are not events of this kind, so it replays as gone.
 */
export const snapshotEvents = (state: BackendState, at: number): ReadonlyArray<BackendEvent> => {
  const backend = state.spec.name
  const events: Array<BackendEvent> = [{ _tag: "BackendAdded", at, spec: state.spec, policy: state.policy }]
  if (!state.healthy) {
    events.push({ _tag: "HealthChanged", at, backend, healthy: false, reason: "unhealthy when the journal opened" })
  }
  const circuit = state.circuit
  if (circuit._tag !== "Closed") {
    events.push({
      _tag: "CircuitOpened",
      at,
      backend,
      until: circuit._tag === "Open" ? circuit.until : at,
      trips: circuit.trips,
      reason: circuit._tag === "Open" ? circuit.reason : "open when the journal opened"
    })
  }
  if (circuit._tag === "HalfOpen") events.push({ _tag: "CircuitHalfOpened", at, backend })
  if (state.draining) events.push({ _tag: "BackendDrained", at, backend })
  if (state.removed) events.push({ _tag: "BackendRemoved", at, backend })
  return events
}

export const replay = (events: Iterable<BackendEvent>): Replay => {
  const states = new Map<string, BackendState>()
  const timeline: Array<TimelineEntry> = []
  const poolMembers = (state: BackendState) =>
    Array.from(states.values()).filter((other) => !other.removed && poolOf(other.spec) === poolOf(state.spec))
  for (const event of events) {
    const backend = backendOf(event)
    const before = states.get(backend)
    const after = evolveInPool(before, event, poolMembers)
    if (after === undefined) states.delete(backend)
    else states.set(backend, after)
    const entry = (kind: TimelineEntry["kind"], from: string, to: string, reason: string) =>
      timeline.push({ at: event.at, backend, kind, from, to, reason })
    if (before === undefined && after !== undefined) entry("membership", "absent", "member", after.spec.url)
    if (event._tag === "BackendRemoved" && before !== undefined && !before.removed) {
      entry("membership", "member", after === undefined ? "gone" : "draining", "removed from the config")
    }
    if (before === undefined || after === undefined) continue
    if (before.draining !== after.draining) {
      entry(
        "membership",
        before.draining ? "drained" : "member",
        after.draining ? "drained" : "member",
        after.draining ? "drained: no new requests" : "undrained"
      )
    }
    if (before.healthy !== after.healthy) {
      entry("health", health(before), health(after), reasonFor("health", event, before, after))
    }
    if (before.circuit._tag !== after.circuit._tag) {
      entry(
        "circuit",
        circuitName(before.circuit),
        circuitName(after.circuit),
        reasonFor("circuit", event, before, after)
      )
    }
    // A decline the fold made, or one the journal recorded (replayed onto a state that made it).
    const declined = event._tag === "EjectionDeclined"
      ? event.reason
      : after.declined !== before.declined
      ? after.declined?.reason
      : undefined
    if (declined !== undefined) {
      const circuit = circuitName(after.circuit)
      entry("circuit", circuit, circuit, `ejection declined: ${declined}`)
    }
  }
  return { states, timeline }
}
