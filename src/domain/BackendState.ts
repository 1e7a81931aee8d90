/**
 * The state of one backend and the one function that changes it. `evolve` is pure and total:
 * reading it top to bottom is reading every rule by which a backend's state moves.
 */
import type { BackendSpec } from "./Backend.ts"
import type { BackendEvent, RequestOutcome } from "./BackendEvent.ts"

export interface BackendState {
  readonly spec: BackendSpec
  /** Set by `BackendRemoved`: the backend only finishes what it has in flight. */
  readonly removed: boolean
  readonly inFlight: number
  /** Requests that have finished, whatever their outcome. */
  readonly requests: number
  /** Finished requests whose outcome was the backend's fault (see `isFailure`). */
  readonly failures: number
  readonly consecutiveFailures: number
  /** Latency of the last completed request, in ms; `undefined` until one completes. */
  readonly lastLatencyMs: number | undefined
  readonly lastRequestAt: number | undefined
}

export const initialState = (spec: BackendSpec): BackendState => ({
  spec,
  removed: false,
  inFlight: 0,
  requests: 0,
  failures: 0,
  consecutiveFailures: 0,
  lastLatencyMs: undefined,
  lastRequestAt: undefined
})

/** Outcomes that count against the backend; a client that hung up is not the backend's fault. */
export const isFailure = (outcome: RequestOutcome): boolean => outcome !== "success" && outcome !== "aborted"

/**
 * Applies one event to the state of the backend it names. `undefined` means "not in the
 * registry": only `BackendAdded` brings a backend into existence, and a removed backend's state
 * disappears (returns `undefined`) once nothing is in flight any more.
 */
export const evolve = (state: BackendState | undefined, event: BackendEvent): BackendState | undefined => {
  switch (event._tag) {
    case "BackendAdded":
      return state === undefined ? initialState(event.spec) : { ...state, spec: event.spec, removed: false }
    case "BackendRemoved":
      if (state === undefined) return undefined
      return state.inFlight === 0 ? undefined : { ...state, removed: true }
    case "RequestStarted":
      if (state === undefined) return undefined
      return { ...state, inFlight: state.inFlight + 1, lastRequestAt: event.at }
    case "RequestFinished": {
      if (state === undefined) return undefined
      const failed = isFailure(event.outcome)
      const inFlight = Math.max(0, state.inFlight - 1)
      if (state.removed && inFlight === 0) return undefined
      return {
        ...state,
        inFlight,
        requests: state.requests + 1,
        failures: failed ? state.failures + 1 : state.failures,
        consecutiveFailures: failed ? state.consecutiveFailures + 1 : 0,
        lastLatencyMs: event.outcome === "aborted" ? state.lastLatencyMs : event.latencyMs
      }
    }
  }
}
