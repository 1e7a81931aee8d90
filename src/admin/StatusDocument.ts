/**
 * The `/status` document: what a person or a script checks first. Built from plain state so it
 * can be tested without a server.
 */
import { isAvailable } from "../domain/Availability.ts"
import type { BackendState } from "../domain/BackendState.ts"

export interface BackendStatus {
  readonly name: string
  readonly url: string
  readonly weight: number
  readonly maxConnections: number | null
  readonly available: boolean
  readonly removed: boolean
  readonly inFlight: number
  readonly requests: number
  readonly failures: number
  readonly lastLatencyMs: number | null
  readonly lastRequestAt: string | null
}

export interface StatusDocument {
  readonly version: string
  readonly uptimeSeconds: number
  readonly strategy: string
  readonly backends: {
    readonly total: number
    readonly available: number
    readonly list: ReadonlyArray<BackendStatus>
  }
}

export const backendStatus = (state: BackendState): BackendStatus => ({
  name: state.spec.name,
  url: state.spec.url,
  weight: state.spec.weight,
  maxConnections: state.spec.maxConnections ?? null,
  available: isAvailable(state),
  removed: state.removed,
  inFlight: state.inFlight,
  requests: state.requests,
  failures: state.failures,
  lastLatencyMs: state.lastLatencyMs === undefined ? null : Math.round(state.lastLatencyMs * 1000) / 1000,
  lastRequestAt: state.lastRequestAt === undefined ? null : new Date(state.lastRequestAt).toISOString()
})

export const statusDocument = (facts: {
  readonly version: string
  readonly uptimeSeconds: number
  readonly strategy: string
  readonly backends: ReadonlyArray<BackendState>
}): StatusDocument => {
  const list = facts.backends.map(backendStatus)
  return {
    version: facts.version,
    uptimeSeconds: Math.floor(facts.uptimeSeconds),
    strategy: facts.strategy,
    backends: { total: list.length, available: list.filter((b) => b.available).length, list }
  }
}
