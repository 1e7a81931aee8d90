/**
 * What an operator reads in the serve log about the backends: the changes that decide where
 * traffic goes — health, circuit, ejection, membership — as one line each, WARN when traffic is
 * taken away and INFO when it is given back. The journal and `/events` keep every event; the log
 * keeps only these, so that it can be read by a person (probes and requests would drown it).
 */
import type { BackendEvent } from "./BackendEvent.ts"

export interface LifecycleLine {
  readonly level: "info" | "warn"
  readonly backend: string
  readonly message: string
}

/** The log line an event deserves, if any. */
export const lifecycleLine = (event: BackendEvent): LifecycleLine | undefined => {
  switch (event._tag) {
    case "HealthChanged":
      return event.healthy
        ? {
          level: "info",
          backend: event.backend,
          message: `backend ${event.backend} is healthy again: ${event.reason}`
        }
        : { level: "warn", backend: event.backend, message: `backend ${event.backend} is unhealthy: ${event.reason}` }
    case "CircuitOpened":
      return {
        level: "warn",
        backend: event.backend,
        message: `circuit of ${event.backend} opened until ${
          new Date(event.until).toISOString()
        } (trip ${event.trips}): ${event.reason}`
      }
    case "CircuitHalfOpened":
      return {
        level: "info",
        backend: event.backend,
        message: `circuit of ${event.backend} half-open: trial requests allowed`
      }
    case "CircuitClosed":
      return { level: "info", backend: event.backend, message: `circuit of ${event.backend} closed` }
    case "EjectionDeclined":
      return {
        level: "warn",
        backend: event.backend,
        message: `backend ${event.backend} kept in rotation: ${event.reason}`
      }
    case "BackendAdded":
      return {
        level: "info",
        backend: event.spec.name,
        message: `backend ${event.spec.name} added (${event.spec.url}${
          event.spec.pool === undefined ? "" : `, pool ${event.spec.pool}`
        })`
      }
    case "BackendRemoved":
      return {
        level: "info",
        backend: event.backend,
        message: `backend ${event.backend} removed: no new requests, in-flight ones finish`
      }
    default:
      return undefined
  }
}
