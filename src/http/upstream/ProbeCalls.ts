/**
 * What both health probes (`HttpHealthCheck.ts`, `GrpcHealthCheck.ts`) share: their clients, on
 * connections of their own apart from the proxied traffic's, one per backend origin kept across
 * probes; and one call's life, settled once with its verdict, cancelled when the probe gives up.
 */
import { Effect } from "effect"
import { originOf } from "../../domain/Backend.ts"
import type { BackendSpec } from "../../domain/Backend.ts"
import type { UpstreamControl, UpstreamHandler, UpstreamRequest } from "../../services/Upstream.ts"
import type { BackendClient } from "./BackendClient.ts"

/** How long a probe's connections are kept between probes. */
export const probeKeepMs = 30_000

/** One probe call: `settle` hears `undefined` when healthy, else the reason (words, or the error that ended it). */
export abstract class ProbeCall implements UpstreamHandler {
  protected readonly settle: (unhealthy: unknown) => void
  private control: UpstreamControl | undefined
  private cancelled = false

  constructor(settle: (unhealthy: unknown) => void) {
    let settled = false
    // Once: what ends a call (an abort after a verdict, say) may report again.
    this.settle = (unhealthy) => {
      if (settled) return
      settled = true
      settle(unhealthy)
    }
  }

  /** The probe gave up (its timeout): the call is cut off, now or as soon as it starts. */
  cancel(): void {
    this.cancelled = true
    this.control?.abort(new Error("the probe was cancelled"))
  }

  onRequestStart(control: UpstreamControl): void {
    this.control = control
    if (this.cancelled) control.abort(new Error("the probe was cancelled"))
  }

  onRequestSent(): void {}

  abstract onResponseStart(control: UpstreamControl, status: number, headers: Array<string>): void
  abstract onResponseData(control: UpstreamControl, chunk: Buffer): void
  abstract onResponseEnd(trailers: ReadonlyArray<string>): void

  onResponseError(error: Error): void {
    this.settle(error)
  }
}

export class ProbeClients {
  private readonly clients = new Map<string, BackendClient>()
  /** `connectTimeoutMs`: the probe's own timeout, when its call opens the client's first connection. */
  private readonly connect: (backend: BackendSpec, connectTimeoutMs: number) => BackendClient

  constructor(connect: (backend: BackendSpec, connectTimeoutMs: number) => BackendClient) {
    this.connect = connect
  }

  /** Sends `request` to `target` on `backend`'s probe client; succeeds when `call` settles healthy. */
  call(
    backend: BackendSpec,
    timeoutMs: number,
    target: string,
    request: UpstreamRequest,
    makeCall: (settle: (unhealthy: unknown) => void) => ProbeCall
  ): Effect.Effect<void, unknown> {
    // A discovered member's name is part of where its connection goes (its TLS name).
    const key = `${originOf(backend)} ${backend.resolvedFrom ?? ""}`
    let client = this.clients.get(key)
    if (client === undefined) {
      client = this.connect(backend, timeoutMs)
      this.clients.set(key, client)
    }
    const chosen = client
    return Effect.callback<void, unknown>((resume) => {
      const call = makeCall((unhealthy) => resume(unhealthy === undefined ? Effect.void : Effect.fail(unhealthy)))
      // Not replayable: a probe goes out only on a connection used within the last second, or a
      // new one, so that a backend closing an idle keep-alive connection never fails a probe.
      chosen.dispatch(target, request, call, false)
      return Effect.sync(() => call.cancel())
    })
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy()
    this.clients.clear()
  }
}
