/**
 * The state of one backend and the one function that changes it. `evolve` is pure and total:
 * reading it top to bottom is reading every rule by which a backend's membership, health,
 * circuit, load and latency move.
 */
import type { BackendSpec } from "./Backend.ts"
import type { BackendEvent, RequestOutcome } from "./BackendEvent.ts"
import type { BackendPolicy } from "./BackendPolicy.ts"
import * as Circuit from "./breaker/Circuit.ts"
import type { Estimate } from "./load/Ewma.ts"
import { observeAverage, observePeak } from "./load/Ewma.ts"

export interface BackendState {
  readonly spec: BackendSpec
  readonly policy: BackendPolicy
  /** Set by `BackendRemoved`: the backend only finishes what it has in flight. */
  readonly removed: boolean
  /** Active health: in rotation unless probes took it out. Backends start healthy. */
  readonly healthy: boolean
  readonly probeSuccesses: number
  readonly probeFailures: number
  readonly circuit: Circuit.Circuit
  /** Moves on every circuit transition; a request counts for the circuit only in its own epoch. */
  readonly epoch: number
  readonly inFlight: number
  /** Requests that have finished, whatever their outcome. */
  readonly requests: number
  /** Finished requests whose outcome was the backend's fault (see `isFailure`). */
  readonly failures: number
  /** Requests sent here as a retry, after another backend failed them. */
  readonly retries: number
  readonly lastLatencyMs: number | undefined
  readonly lastRequestAt: number | undefined
  /** Time-weighted average latency (`least-ewma`, `least-dynamic-score`). */
  readonly latency: Estimate | undefined
  /** Peak-sensitive latency (`p2c-ewma`). */
  readonly peakLatency: Estimate | undefined
}

export const initialState = (spec: BackendSpec, policy: BackendPolicy): BackendState => ({
  spec,
  policy,
  removed: false,
  healthy: true,
  probeSuccesses: 0,
  probeFailures: 0,
  circuit: Circuit.closed,
  epoch: 0,
  inFlight: 0,
  requests: 0,
  failures: 0,
  retries: 0,
  lastLatencyMs: undefined,
  lastRequestAt: undefined,
  latency: undefined,
  peakLatency: undefined
})

/** Outcomes that count against the backend; a client that hung up is not the backend's fault. */
export const isFailure = (outcome: RequestOutcome): boolean => outcome !== "success" && outcome !== "aborted"

/**
 * Outcomes whose duration says how fast the backend is. A refused or reset connection fails fast
 * and would make a broken backend look quick, so it is left to the breaker instead.
 */
const measuresLatency = (outcome: RequestOutcome): boolean =>
  outcome === "success" || outcome === "server-error" || outcome === "timeout" || outcome === "bad-response"

const withCircuit = (state: BackendState, circuit: Circuit.Circuit): BackendState =>
  circuit === state.circuit
    ? state
    : circuit._tag === state.circuit._tag
    ? { ...state, circuit }
    : { ...state, circuit, epoch: state.epoch + 1 }

/**
 * Applies one event to the state of the backend it names. `undefined` means "not in the
 * registry": only `BackendAdded` brings a backend into existence, and a removed backend's state
 * disappears (returns `undefined`) once nothing is in flight any more.
 */
export const evolve = (state: BackendState | undefined, event: BackendEvent): BackendState | undefined => {
  if (event._tag === "BackendAdded") {
    return state === undefined
      ? initialState(event.spec, event.policy)
      : { ...state, spec: event.spec, policy: event.policy, removed: false }
  }
  if (state === undefined) return undefined
  switch (event._tag) {
    case "BackendRemoved":
      return state.inFlight === 0 ? undefined : { ...state, removed: true }

    case "RequestStarted": {
      const started = {
        ...state,
        inFlight: state.inFlight + 1,
        retries: event.attempt > 1 ? state.retries + 1 : state.retries,
        lastRequestAt: event.at
      }
      return event.epoch === state.epoch ? withCircuit(started, Circuit.onStart(state.circuit)) : started
    }

    case "RequestFinished": {
      const inFlight = Math.max(0, state.inFlight - 1)
      if (state.removed && inFlight === 0) return undefined
      const failed = isFailure(event.outcome)
      const measured = measuresLatency(event.outcome)
      const decay = state.policy.ewmaDecayMs
      const finished: BackendState = {
        ...state,
        inFlight,
        requests: state.requests + 1,
        failures: failed ? state.failures + 1 : state.failures,
        lastLatencyMs: event.outcome === "aborted" ? state.lastLatencyMs : event.latencyMs,
        latency: measured ? observeAverage(state.latency, event.latencyMs, event.at, decay) : state.latency,
        peakLatency: measured ? observePeak(state.peakLatency, event.latencyMs, event.at, decay) : state.peakLatency
      }
      if (event.epoch !== state.epoch || event.outcome === "aborted") return finished
      const circuit = Circuit.onOutcome(state.circuit, failed ? event.outcome : undefined, event.at, state.policy)
      return withCircuit(finished, circuit)
    }

    case "ProbeSucceeded": {
      const probeSuccesses = state.probeSuccesses + 1
      return {
        ...state,
        probeSuccesses,
        probeFailures: 0,
        healthy: state.healthy || probeSuccesses >= state.policy.healthyThreshold
      }
    }

    case "ProbeFailed": {
      const probeFailures = state.probeFailures + 1
      return {
        ...state,
        probeSuccesses: 0,
        probeFailures,
        healthy: state.healthy && probeFailures < state.policy.unhealthyThreshold
      }
    }

    case "CircuitHalfOpened":
      return withCircuit(state, Circuit.halfOpen(state.circuit))

    case "HealthChanged":
      return state.healthy === event.healthy ? state : { ...state, healthy: event.healthy }

    case "CircuitOpened":
      return state.circuit._tag === "Open"
        ? state
        : withCircuit(state, { _tag: "Open", until: event.until, trips: event.trips, reason: event.reason })

    case "CircuitClosed":
      return withCircuit(state, Circuit.closed)
  }
}
