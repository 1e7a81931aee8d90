/**
 * What the upstream layer asks of the connections to one backend, whichever protocol they speak:
 * `BackendConnections` (HTTP/1.1, a keep-alive pool) or `Http2Backend` (HTTP/2, multiplexed).
 */
import type { UpstreamHandler, UpstreamRequest } from "../../services/Upstream.ts"

export interface BackendClient {
  /**
   * Sends `request`, its target already under the backend's prefix. `replayable`: it may be sent
   * again if a reused connection turns out dead (bodiless and idempotent); HTTP/1.1 picks its
   * connection by it.
   */
  readonly dispatch: (target: string, request: UpstreamRequest, handler: UpstreamHandler, replayable: boolean) => void
  /** Closes idle connections now, busy ones once their requests are over; new requests still get through. */
  readonly close: () => void
  /** Resolves once no request is in flight any more; call after `close`. */
  readonly drained: () => Promise<void>
  /** Closes every connection, requests in flight or not. */
  readonly destroy: () => void
}
