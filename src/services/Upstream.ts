/**
 * Connections to the backends: one keep-alive pool per backend, reused across requests. The
 * router hands it a request and a handler; the handler hears the response, as undici's
 * `DispatchHandler`, which lets the body stream through without intermediate Node streams.
 */
import { Context } from "effect"
import type { Dispatcher } from "undici"
import type { BackendSpec } from "../domain/Backend.ts"

export interface UpstreamShape {
  /** Sends `request` to `backend` (its origin; the path already carries any prefix). */
  readonly dispatch: (
    backend: BackendSpec,
    request: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler
  ) => void
  /** Closes the pool of a backend that left the registry. */
  readonly release: (backend: string) => void
}

export class Upstream extends Context.Service<Upstream, UpstreamShape>()("switchyard/services/Upstream") {}
