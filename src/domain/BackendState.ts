/**
 * The state of one backend and the one function that changes it. `evolve` is pure and total:
 * reading it top to bottom is reading every rule by which a backend's membership, health,
 * circuit, load and latency move.
 */
import type { BackendSpec } from "./Backend.ts"
import type { BackendEvent, RequestOutcome } from "./BackendEvent.ts"
import type { BackendPolicy } from "./BackendPolicy.ts"
import * as Circuit from "./breaker/Circuit.ts"
import { maxEjected, standingEjections } from "./breaker/Ejection.ts"
import type { Estimate } from "./load/Ewma.ts"
import { observeAverage, observePeak } from "./load/Ewma.ts"
import { rampPercent } from "./load/SlowStart.ts"

export interface BackendState {
  readonly spec: BackendSpec
  readonly policy: BackendPolicy
  /** Set by `BackendRemoved`: the backend only finishes what it has in flight. */
  readonly removed: boolean
  /** Set by `BackendDrained`: a member that takes no new requests until `BackendUndrained`. */
  readonly draining: boolean
  /**
   * Active health: in rotation unless probes took it out. Backends start healthy, but for those
   * whose policy says `probeBeforeTraffic`.
   */
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
  /**
   * When the backend joined (epoch ms). Until it is measured, the latency strategies count a
   * default latency as of its last request, or of this (`selection/LogCost.ts`).
   */
  readonly joinedAt: number
  /** Outlier ejections charged to the backend (`Ejection.ts`); 0 without `policy.ejection`. */
  readonly ejections: number
  /** When the last ejection's open period ended (epoch ms), from which ejections are forgiven. */
  readonly ejectedUntil: number
  /** Slow start: the share of its weight the backend gets now, 100 once warm (`SlowStart.ts`). */
  readonly weightPercent: number
  /** Slow start: when the backend came back into rotation, while it is still warming up. */
  readonly warmingSince: number | undefined
  /** The last opening the pool's ejection cap declined, and why (`EjectionDeclined`). */
  readonly declined: { readonly at: number; readonly reason: string } | undefined
}

/**
 * What `evolve` needs to know of the backend's pool, the one rule that is not the backend's
 * alone: outlier ejection's cap (`breaker/Ejection.ts`). Gathered by `PoolEvolve.ts`.
 */
export interface PoolFacts {
  /** Members of the pool ejected now. */
  readonly ejected: number
  /** Members of the pool, this backend among them. */
  readonly size: number
}

export const initialState = (spec: BackendSpec, policy: BackendPolicy, joinedAt = 0): BackendState => ({
  spec,
  policy,
  removed: false,
  draining: false,
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
  peakLatency: undefined,
  joinedAt,
  ejections: 0,
  ejectedUntil: 0,
  weightPercent: 100,
  warmingSince: undefined,
  declined: undefined
})

/**
 * Outcomes that count against the backend. A client that hung up is not the backend's fault, nor
 * is a 429 without `Retry-After`: it limits a client or a key, and the backend is working.
 */
export const isFailure = (outcome: RequestOutcome): boolean =>
  outcome !== "success" && outcome !== "aborted" && outcome !== "throttled"

/**
 * Outcomes whose duration says how fast the backend is. A refused or reset connection, or an
 * overloaded or throttled answer, fails fast and would make a broken backend look quick, so it is
 * left to the breaker (and, with `policy.failurePenaltyMs`, charged to the peak estimate as a
 * penalty).
 */
const measuresLatency = (outcome: RequestOutcome): boolean =>
  outcome === "success" || outcome === "server-error" || outcome === "timeout" || outcome === "bad-response"

const failsFast = (outcome: RequestOutcome): boolean =>
  outcome === "connect-failed" || outcome === "reset" || outcome === "overloaded" || outcome === "throttled"

/** Slow start begins (again) at `at`: the backend joined, or came back into rotation. */
const warm = (state: BackendState, at: number): BackendState => {
  const slowStart = state.policy.slowStart
  return slowStart === undefined ? state : { ...state, warmingSince: at, weightPercent: rampPercent(0, slowStart) }
}

/** A new circuit; a move to another kind starts a new epoch, and closing one warms up again. */
const withCircuit = (state: BackendState, circuit: Circuit.Circuit, at: number): BackendState => {
  if (circuit === state.circuit) return state
  if (circuit._tag === state.circuit._tag) return { ...state, circuit }
  const moved = { ...state, circuit, epoch: state.epoch + 1 }
  return circuit._tag === "Closed" ? warm(moved, at) : moved
}

const peakOf = (state: BackendState, outcome: RequestOutcome, latencyMs: number, at: number): Estimate | undefined => {
  const decay = state.policy.ewmaDecayMs
  if (measuresLatency(outcome)) return observePeak(state.peakLatency, latencyMs, at, decay)
  const penalty = state.policy.failurePenaltyMs
  return penalty !== undefined && failsFast(outcome)
    ? observePeak(state.peakLatency, Math.max(latencyMs, penalty), at, decay)
    : state.peakLatency
}

/**
 * The outcome's verdict on the circuit, with outlier ejection's count and cap and a backend's
 * `Retry-After`. An opening that would eject the backend from a pool already at its cap
 * (`pool`) is declined: the backend keeps serving with its failure count reset. Its own pause is
 * honoured either way: the cap is about our judgement, not its request.
 */
const judge = (
  state: BackendState,
  event: Extract<BackendEvent, { _tag: "RequestFinished" }>,
  pool: PoolFacts | undefined
): BackendState => {
  const failed = isFailure(event.outcome)
  const ejection = state.policy.ejection
  const ejections = ejection === undefined ? 0 : standingEjections(state, event.at, ejection) + 1
  const judged = Circuit.onOutcome(state.circuit, failed ? event.outcome : undefined, event.at, state.policy, ejections)
  const ejected = judged._tag === "Open" && state.circuit._tag !== "Open" && ejection !== undefined
  const allowed = ejection === undefined || pool === undefined ? Infinity : maxEjected(pool.size, ejection)
  const declined = ejected && pool !== undefined && pool.ejected + 1 > allowed
  const verdict = declined ? Circuit.closed : judged
  const charged = declined
    ? {
      ...state,
      declined: {
        at: event.at,
        reason:
          `${judged._tag === "Open" ? judged.reason : ""}; but the pool has ${pool.ejected} of its ${pool.size} ` +
          `backends ejected and maxEjectionPercent ${ejection?.maxPercent ?? 0} allows ${allowed}`
      }
    }
    : ejected && judged._tag === "Open"
    ? { ...state, ejections, ejectedUntil: judged.until }
    : state
  const circuit = event.retryAfterMs === undefined ? verdict : Circuit.holdOff(verdict, event.at, event.retryAfterMs)
  return withCircuit(charged, circuit, event.at)
}

/**
 * A finished request's counts and latency, without its verdict on the circuit (`judge`): what
 * every holder of the state learns from it. `undefined` once a removed backend has nothing left
 * in flight.
 */
export const countFinished = (
  state: BackendState,
  event: Extract<BackendEvent, { _tag: "RequestFinished" }>
): BackendState | undefined => {
  const inFlight = Math.max(0, state.inFlight - 1)
  if (state.removed && inFlight === 0) return undefined
  return {
    ...state,
    inFlight,
    requests: state.requests + 1,
    failures: isFailure(event.outcome) ? state.failures + 1 : state.failures,
    lastLatencyMs: event.outcome === "aborted" ? state.lastLatencyMs : event.latencyMs,
    latency: measuresLatency(event.outcome)
      ? observeAverage(state.latency, event.latencyMs, event.at, state.policy.ewmaDecayMs)
      : state.latency,
    peakLatency: peakOf(state, event.outcome, event.latencyMs, event.at)
  }
}

/**
 * Applies one event to the state of the backend it names. `undefined` means "not in the
 * registry": only `BackendAdded` brings a backend into existence, and a removed backend's state
 * disappears (returns `undefined`) once nothing is in flight any more. `pool` is what the one rule
 * that needs the whole pool, outlier ejection's cap, reads (`PoolEvolve.ts` gathers it); without
 * it no opening is declined.
 */
export const evolve = (
  state: BackendState | undefined,
  event: BackendEvent,
  pool?: PoolFacts
): BackendState | undefined => {
  if (event._tag === "BackendAdded") {
    if (state !== undefined) {
      // A backend removed while drained and added again is a new member, not a drained one.
      const draining = state.draining && !state.removed
      const updated = { ...state, spec: event.spec, policy: event.policy, removed: false, draining }
      return event.policy.slowStart === undefined
        ? { ...updated, weightPercent: 100, warmingSince: undefined }
        : updated
    }
    const joined = initialState(event.spec, event.policy, event.at)
    const fresh = event.policy.probeBeforeTraffic === true && event.policy.probe !== undefined
      ? { ...joined, healthy: false }
      : joined
    const rtt = event.policy.peakDefaultRttMs
    // A default, not a measurement: no samples, so the first response replaces it (`load/Ewma.ts`).
    const primed = rtt === undefined ? fresh : { ...fresh, peakLatency: { value: rtt, at: event.at, samples: 0 } }
    return warm(primed, event.at)
  }
  if (state === undefined) return undefined
  switch (event._tag) {
    case "BackendRemoved":
      return state.inFlight === 0 ? undefined : { ...state, removed: true }

    case "BackendDrained":
      return state.draining ? state : { ...state, draining: true }

    case "BackendUndrained":
      return state.draining ? warm({ ...state, draining: false }, event.at) : state

    case "RequestStarted": {
      const started = {
        ...state,
        inFlight: state.inFlight + 1,
        retries: event.attempt > 1 ? state.retries + 1 : state.retries,
        lastRequestAt: event.at
      }
      return event.epoch === state.epoch ? withCircuit(started, Circuit.onStart(state.circuit), event.at) : started
    }

    case "RequestFinished": {
      const finished = countFinished(state, event)
      if (finished === undefined || event.epoch !== state.epoch || event.outcome === "aborted") return finished
      return judge(finished, event, pool)
    }

    case "ProbeSucceeded": {
      const probeSuccesses = state.probeSuccesses + 1
      const probed = { ...state, probeSuccesses, probeFailures: 0 }
      return state.healthy || probeSuccesses < state.policy.healthyThreshold
        ? probed
        : warm({ ...probed, healthy: true }, event.at)
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
      return withCircuit(state, Circuit.halfOpen(state.circuit), event.at)

    case "HealthChanged":
      if (state.healthy === event.healthy) return state
      return event.healthy ? warm({ ...state, healthy: true }, event.at) : { ...state, healthy: false }

    case "CircuitOpened":
      return state.circuit._tag === "Open"
        ? state
        : withCircuit(state, { _tag: "Open", until: event.until, trips: event.trips, reason: event.reason }, event.at)

    case "CircuitClosed":
      return withCircuit(state, Circuit.closed, event.at)

    case "EjectionDeclined":
      return state

    case "WarmupProgressed":
      return state.warmingSince === undefined
        ? state
        : {
          ...state,
          weightPercent: event.percent,
          warmingSince: event.percent >= 100 ? undefined : state.warmingSince
        }
  }
}
