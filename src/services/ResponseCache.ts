/**
 * The response cache as the data path sees it: one synchronous lookup per cacheable request,
 * answering with a stored response, or the job of fetching and filling it, or a place in line
 * behind the request already fetching it (so concurrent misses make one upstream request).
 */
import { Context } from "effect"
import type { HeaderLookup } from "../domain/cache/CachePolicy.ts"
import type { StoredResponse } from "../domain/cache/ResponseStore.ts"

/** Fed by the exchange as the backend's response streams through to the client. */
export interface CacheFill {
  readonly head: (
    status: number,
    statusMessage: string | undefined,
    header: HeaderLookup,
    outgoing: ReadonlyArray<string>,
    backend: string
  ) => void
  readonly chunk: (data: Buffer) => void
  /** The whole response went through: store it if it may be stored. */
  readonly end: () => void
  /** The response failed or the client left: store nothing. Safe to call after `end`. */
  readonly abandon: () => void
}

export type CacheLookup =
  | { readonly _tag: "Hit"; readonly response: StoredResponse; readonly ageSeconds: number }
  | { readonly _tag: "Fill"; readonly fill: CacheFill }
  /**
   * Another request is fetching this one. `resume(false)`: look again (it is probably stored);
   * `resume(true)`: go to a backend without waiting further (it could not be stored, or it took
   * too long). Returns a canceller for a client that leaves while waiting.
   */
  | { readonly _tag: "Wait"; readonly wait: (resume: (passThrough: boolean) => void) => () => void }
  /** Not worth keeping (a HEAD miss): go to a backend, store nothing. */
  | { readonly _tag: "Bypass" }

export interface ResponseCacheShape {
  /** `undefined` when the config has no `cache` section. */
  readonly lookup:
    | ((method: string, host: string | undefined, target: string, header: HeaderLookup) => CacheLookup)
    | undefined
}

export class ResponseCache
  extends Context.Service<ResponseCache, ResponseCacheShape>()("switchyard/services/ResponseCache")
{}
