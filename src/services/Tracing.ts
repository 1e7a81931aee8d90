/**
 * Distributed tracing of the data path: a server span per client request and a client span per
 * upstream attempt, with the W3C `traceparent` of the attempt sent to the backend so its own
 * spans join the trace. Synchronous, like the rest of the data path; when tracing is not
 * configured `startRequest` is `undefined` and a request costs nothing extra.
 */
import { Context } from "effect"
import type { RequestOutcome } from "../domain/BackendEvent.ts"

export interface AttemptTrace {
  /** The `traceparent` header value naming this attempt's span as the backend's parent. */
  readonly traceparent: string
  readonly end: (outcome: RequestOutcome, status: number | undefined) => void
}

export interface RequestTrace {
  readonly attempt: (backend: string, attempt: number) => AttemptTrace
  readonly end: (
    result: { readonly status: number; readonly backend: string | undefined; readonly retries: number }
  ) => void
}

export interface RequestTraceFacts {
  readonly method: string
  readonly path: string
  readonly requestId: string
  /** The client's own `traceparent`, if it sent one: the request's span continues that trace. */
  readonly traceparent: string | undefined
}

export interface TracingShape {
  readonly startRequest: ((facts: RequestTraceFacts) => RequestTrace) | undefined
}

export class Tracing extends Context.Service<Tracing, TracingShape>()("switchyard/services/Tracing") {}
