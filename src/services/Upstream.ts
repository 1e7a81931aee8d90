/**
 * Connections to the backends: keep-alive pools per backend, reused across requests. The
 * router hands it a request and a handler; the handler hears the request go out and the response
 * come in as method calls (`UpstreamHandler`), which lets the body stream through without
 * intermediate Node streams.
 */
import { Context } from "effect"
import type { Readable } from "node:stream"
import type { BackendSpec } from "../domain/Backend.ts"

/** A request as the router hands it over: the client's target, headers already rewritten. */
export interface UpstreamRequest {
  readonly method: string
  /** Path and query as the client sent them; the backend URL's path prefix is added here. */
  readonly path: string
  /** Flat `[name, value, ...]` pairs, built per request, sent as they are (latin1, Node's reading). */
  readonly headers: ReadonlyArray<string>
  /**
   * How the body is framed: `length` when `headers` carry its `Content-Length`, `chunked` when it
   * is to be sent chunked, `none` without a body.
   */
  readonly framing: "none" | "length" | "chunked"
  readonly body: Readable | null
  /**
   * The client said `TE: trailers` (gRPC does): an HTTP/2 backend is told so too. HTTP/1.1
   * backends are not (`TE` is hop-by-hop there).
   */
  readonly trailers: boolean
}

/** What a handler can do to the request it was handed. */
export interface UpstreamControl {
  /** Ends the request: the connection is closed, and `onResponseError` hears `reason`. */
  readonly abort: (reason: Error) => void
  /** Stops reading the response (the client's socket is full) until `resume`. */
  readonly pause: () => void
  readonly resume: () => void
}

/**
 * Hears one request's life, in this order: `onRequestStart` (a connection is ready and the request
 * is about to be written: bytes may reach the backend from now on), `onRequestSent` (all of it
 * written), `onResponseStart` (once per interim `1xx` other than `100`, then once for the final
 * head), `onResponseData` per body chunk, `onResponseEnd`. `onResponseError` ends it instead, at
 * any point: before `onRequestStart` it means no byte reached the backend.
 */
export interface UpstreamHandler {
  readonly onRequestStart: (control: UpstreamControl) => void
  readonly onRequestSent: () => void
  /** `headers` as the backend sent them: flat `[name, value, ...]`, case and repeats kept. */
  readonly onResponseStart: (
    control: UpstreamControl,
    status: number,
    headers: Array<string>,
    statusMessage: string
  ) => void
  readonly onResponseData: (control: UpstreamControl, chunk: Buffer) => void
  /** `trailers` as the backend sent them (HTTP/2: gRPC's `grpc-status`), flat pairs; empty when none. */
  readonly onResponseEnd: (trailers: ReadonlyArray<string>) => void
  readonly onResponseError: (error: Error) => void
}

export interface UpstreamShape {
  /**
   * Sends `request` to `backend`'s origin, its path under the backend's prefix. A request that a
   * keep-alive race could not replay (a body, or a method that is not idempotent) goes out only
   * on a connection used within the last second, or a new one.
   */
  readonly dispatch: (backend: BackendSpec, request: UpstreamRequest, handler: UpstreamHandler) => void
  /** Closes the connections of a backend that left the registry (busy ones once their response is over). */
  readonly release: (backend: string) => void
  /**
   * `timeouts.request`: how long a backend may take to send its response head once the request
   * is sent in full (`onRequestSent`). The handler holds this deadline itself, with a timer of
   * its own (see `ProxyExchange`), started only once the upload is over.
   */
  readonly requestTimeoutMs: number
}

export class Upstream extends Context.Service<Upstream, UpstreamShape>()("switchyard/services/Upstream") {}
