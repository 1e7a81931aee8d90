/**
 * The HTTP health probe: `GET {path}` on the backend's origin (not under its URL's own path
 * prefix), over the proxy's own HTTP/1.1 client (`BackendConnections`) on connections of its own.
 * A 2xx or 3xx is healthy; its body is read and dropped, up to a limit past which the connection
 * is closed and the status stands (a health endpoint that streams forever is still answering).
 *
 * `Host` is the backend's: its URL's host, or for a member found by DNS the name it was resolved
 * from, as its TLS name is (`BackendAddress.ts`).
 */
import type { Effect } from "effect"
import type { BackendSpec } from "../../domain/Backend.ts"
import type { UpstreamControl, UpstreamRequest } from "../../services/Upstream.ts"
import { version } from "../../version.ts"
import { BackendConnections } from "./BackendConnections.ts"
import { ProbeCall, ProbeClients, probeKeepMs } from "./ProbeCalls.ts"

/** Body bytes read before the connection is closed with the status as the verdict. */
const maxBodyBytes = 64 * 1024

const hostOf = (backend: BackendSpec): string => {
  const url = new URL(backend.url)
  if (backend.resolvedFrom === undefined) return url.host
  return url.port === "" ? backend.resolvedFrom : `${backend.resolvedFrom}:${url.port}`
}

const probeRequest = (backend: BackendSpec, path: string): UpstreamRequest => ({
  method: "GET",
  path,
  headers: ["host", hostOf(backend), "user-agent", `switchyard-health/${version}`],
  framing: "none",
  body: null,
  trailers: false
})

const verdictOf = (status: number): string | undefined => status >= 200 && status < 400 ? undefined : `HTTP ${status}`

class GetCall extends ProbeCall {
  private status = 0
  private bytes = 0

  onResponseStart(_control: UpstreamControl, status: number): void {
    if (status >= 200) this.status = status
  }

  onResponseData(control: UpstreamControl, chunk: Buffer): void {
    this.bytes += chunk.length
    if (this.bytes <= maxBodyBytes) return
    this.settle(verdictOf(this.status))
    control.abort(new Error("a health check body past its limit"))
  }

  onResponseEnd(): void {
    this.settle(verdictOf(this.status))
  }
}

/** The probe's HTTP/1.1 clients, one per backend origin, kept across probes until `destroy`. */
export class HttpHealthChecks {
  private readonly clients = new ProbeClients((backend, connectTimeoutMs) =>
    new BackendConnections(backend, { connectTimeoutMs, idleMs: probeKeepMs })
  )

  /** Succeeds on a 2xx or 3xx; fails with the reason (`HTTP 503`, or the error that ended the call). */
  check(backend: BackendSpec, path: string, timeoutMs: number): Effect.Effect<void, unknown> {
    return this.clients.call(backend, timeoutMs, path, probeRequest(backend, path), (settle) => new GetCall(settle))
  }

  destroy(): void {
    this.clients.destroy()
  }
}
