/**
 * The data path as a request handler: validate, pick a backend, forward, stream the answer back,
 * or answer 4xx/5xx itself. It is a plain `node:http` handler (and `upgrade` listener) so it can
 * be mounted in any Node server — `node:http2`'s compatibility API included, for HTTP/2 streams;
 * `ProxyServerLive` mounts it on the proxy listener.
 */
import { Context } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import type { Config } from "../domain/config/ConfigLoader.ts"
import type { ClientRequest, ClientResponse } from "../http/ClientMessage.ts"

export interface RouterShape {
  readonly handle: (request: ClientRequest, response: ClientResponse) => void
  /**
   * A WebSocket or other `Upgrade` request, as a Node server's `upgrade` event hands it over:
   * tunnelled to a backend on a `101`. The socket is the router's from here; it closes it.
   */
  readonly upgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /**
   * From now on, answers ask clients to close their connection (`Connection: close`): used
   * while draining for shutdown.
   */
  readonly startDraining: () => void
  /**
   * Routes and picks by a new config's routes, pools and strategies from now on (hot reload).
   * Backend membership is not its business: the reload turns that into registry events.
   */
  readonly reconfigure: (config: Config) => void
}

export class Router extends Context.Service<Router, RouterShape>()("switchyard/services/Router") {}
