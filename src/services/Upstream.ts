/**
 * Connections to the backends: keep-alive pools per backend, reused across requests. The
 * router hands it a request and a handler; the handler hears the response, as undici's
 * `DispatchHandler`, which lets the body stream through without intermediate Node streams.
 */
import { Context } from "effect"
import type { Readable } from "node:stream"
import type { Dispatcher } from "undici"
import type { BackendSpec } from "../domain/Backend.ts"

/** A request as the router hands it over: the client's target, headers already rewritten. */
export interface UpstreamRequest {
  readonly method: string
  /** Path and query as the client sent them; the backend URL's path prefix is added here. */
  readonly path: string
  /** Flat `[name, value, ...]` pairs, built per request (undici takes them as they are). */
  readonly headers: Array<string>
  readonly body: Readable | null
}

export interface UpstreamShape {
  /**
   * Sends `request` to `backend`'s origin, its path under the backend's prefix. A request that a
   * keep-alive race could not replay (a body, or a method that is not idempotent) goes out only
   * on a connection used within the last second, or a new one.
   */
  readonly dispatch: (backend: BackendSpec, request: UpstreamRequest, handler: Dispatcher.DispatchHandler) => void
  /** Closes the pools of a backend that left the registry. */
  readonly release: (backend: string) => void
  /**
   * `timeouts.request`: how long a backend may take to send its response head once the request
   * is sent in full (`onRequestSent`). The handler holds this deadline itself, with a timer of its
   * own (see `ProxyExchange`): undici's header timer ticks in steps of half a second, so a 2 s
   * timeout fired anywhere up to 2.5 s and in batches. undici's timer stays, a second later, as a
   * backstop for handlers that do not.
   */
  readonly requestTimeoutMs: number
}

export class Upstream extends Context.Service<Upstream, UpstreamShape>()("switchyard/services/Upstream") {}
