/**
 * The data path as a request handler: validate, pick a backend, forward, stream the answer back,
 * or answer 4xx/5xx itself. It is a plain `node:http` handler so it can be mounted in any Node
 * server; `ProxyServerLive` mounts it on the proxy listener.
 */
import { Context } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"

export interface RouterShape {
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void
  /**
   * From now on, answers ask clients to close their connection (`Connection: close`): used
   * while draining for shutdown.
   */
  readonly startDraining: () => void
}

export class Router extends Context.Service<Router, RouterShape>()("switchyard/services/Router") {}
