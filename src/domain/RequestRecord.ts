/**
 * What the proxy knows about one client request once it is over: the access log's line and the
 * request metrics' input. One plain object per request, built when the response closes.
 */

export interface RequestRecord {
  /** When the request arrived, epoch ms. */
  readonly at: number
  readonly requestId: string
  /** The client, as `trustProxy` decides it (the peer, or the first `X-Forwarded-For` hop). */
  readonly client: string
  readonly method: string
  readonly path: string
  /** How the client spoke: `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  readonly protocol: string
  /** The status sent; 499 (nginx's code) when the client left before the response was complete. */
  readonly status: number
  /** The backend of the last attempt; `undefined` when the proxy answered by itself. */
  readonly backend: string | undefined
  /** The pool the request's route led to; `undefined` when none was chosen. */
  readonly pool?: string | undefined
  /**
   * The last attempt's time from its start to the backend's response head (nginx's
   * `$upstream_header_time`): the backend's own latency, without retries or the body's transfer.
   * `undefined` when no backend answered.
   */
  readonly upstreamMs?: number | undefined
  readonly durationMs: number
  /** Response body bytes sent to the client. */
  readonly bytes: number
  /** Attempts after the first. */
  readonly retries: number
  /** For requests the cache could answer: whether it did. */
  readonly cache: "HIT" | "MISS" | undefined
  /**
   * A gRPC call's `grpc-status` as the client got it; `status` is then its HTTP equivalent
   * (`UNAVAILABLE` is 503), not the `200` gRPC puts on the wire.
   */
  readonly grpcStatus: number | undefined
}

/** What the metrics need of a finished client request (a worker sends only this to its supervisor). */
export type CountedRequest = Pick<RequestRecord, "backend" | "method" | "status" | "durationMs" | "cache">
