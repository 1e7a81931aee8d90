/**
 * The `node:http` server in front of the router: parser limits, the answers to requests Node's
 * parser refuses, slow-client protection, and the drain sequence for shutdown.
 *
 * - Headers over `maxHeaderSize` → 431; anything else the parser refuses (bad request line, bad
 *   header bytes, conflicting framing, missing `Host`) → 400; never forwarded.
 * - A client that has not sent its whole head within `timeouts.headers` gets 408 and is
 *   disconnected (slowloris); Node checks at `connectionsCheckingInterval`.
 * - Idle keep-alive connections close after `timeouts.idle`; so does a connection on which nothing
 *   moves for that long mid-request.
 * - With a certificate it is an HTTPS server (TLS termination), HTTP/1.1 only (ALPN `http/1.1`):
 *   the backends are spoken to as the config says, whatever the client used.
 * - Upgrade requests (WebSocket, h2c) leave Node's HTTP handling as bare sockets: they are tracked
 *   here, so that a drain can close the tunnels still open when its grace period ends.
 */
import { Effect } from "effect"
import type { Duration } from "effect"
import { createServer, STATUS_CODES } from "node:http"
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { Duplex } from "node:stream"
import { ListenError } from "../domain/Errors.ts"
import type { ListenAddress } from "../services/ProxyServer.ts"

export interface ListenerOptions {
  readonly maxHeaderSize: number
  readonly headersTimeoutMs: number
  readonly idleTimeoutMs: number
  /** PEM certificate (chain) and private key: the listener speaks HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string }
}

export interface ProxyListener {
  readonly server: Server
  /** Requests whose response has not closed yet. */
  readonly active: () => number
  /** Upgraded connections (tunnels, or upgrades waiting for the backend's answer) not closed yet. */
  readonly tunnels: () => number
  /** Resolves once no request is active and no tunnel open (at once if none is). */
  readonly idle: Effect.Effect<void>
  /** Closes every tunnel still open. */
  readonly closeTunnels: () => void
}

/** An upgrade request, as the server's `upgrade` event hands it over: the socket is the handler's. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/** The status Node's parser error deserves: 431 for oversized heads, 408 for slow ones, else 400. */
export const clientErrorStatus = (code: string | undefined): 400 | 408 | 431 => {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return 431
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408
    default:
      return 400
  }
}

const answerClientError = (error: Error & { readonly code?: string }, socket: Duplex): void => {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy()
    return
  }
  const status = clientErrorStatus(error.code)
  const body = JSON.stringify({ status, error: (STATUS_CODES[status] ?? "").toLowerCase(), message: "malformed request" })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

export const makeProxyListener = (
  options: ListenerOptions,
  handle: (request: IncomingMessage, response: ServerResponse) => void,
  upgrade?: UpgradeHandler
): ProxyListener => {
  let active = 0
  const tunnels = new Set<Duplex>()
  let onIdle: (() => void) | undefined
  const settle = () => {
    if (active === 0 && tunnels.size === 0 && onIdle !== undefined) onIdle()
  }
  const onResponseClose = () => {
    active--
    settle()
  }
  const track = (request: IncomingMessage, response: ServerResponse) => {
    active++
    response.on("close", onResponseClose)
    handle(request, response)
  }
  const serverOptions: ServerOptions = {
    maxHeaderSize: options.maxHeaderSize,
    headersTimeout: options.headersTimeoutMs,
    // Whole-request deadlines would cut off long uploads; the idle timeout guards stalls instead.
    requestTimeout: 0,
    keepAliveTimeout: options.idleTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
    requireHostHeader: true,
    noDelay: true
  }
  const tls = options.tls
  const server: Server = tls === undefined ? createServer(serverOptions, track) : createHttpsServer({
    ...serverOptions,
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: ["http/1.1"],
    // `headersTimeout` only starts once the handshake is done: a client stalling the handshake
    // is held to the same limit (slowloris), not to TLS's default two minutes.
    handshakeTimeout: options.headersTimeoutMs
  }, track)
  server.timeout = options.idleTimeoutMs
  server.on("clientError", answerClientError)
  // Handling `Expect: 100-continue` ourselves means a request we will refuse (413, 503) never
  // gets the go-ahead to send its body; the router sends `100 Continue` once it has a backend.
  server.on("checkContinue", track)
  if (upgrade !== undefined) {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      tunnels.add(socket)
      socket.once("close", () => {
        tunnels.delete(socket)
        settle()
      })
      upgrade(request, socket, head)
    })
  }

  const idle = Effect.callback<void>((resume) => {
    if (active === 0 && tunnels.size === 0) {
      resume(Effect.void)
      return
    }
    onIdle = () => resume(Effect.void)
    return Effect.sync(() => {
      onIdle = undefined
    })
  })
  const closeTunnels = () => {
    for (const socket of tunnels) socket.destroy()
  }
  return { server, active: () => active, tunnels: () => tunnels.size, idle, closeTunnels }
}

export const listen = (
  server: Server,
  name: string,
  host: string,
  port: number
): Effect.Effect<ListenAddress, ListenError> =>
  Effect.callback<ListenAddress, ListenError>((resume) => {
    const onError = (error: Error) =>
      resume(Effect.fail(new ListenError({ listener: name, host, port, message: error.message })))
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      const address = server.address()
      resume(Effect.succeed({ host, port: typeof address === "object" && address !== null ? address.port : port }))
    })
  })

/**
 * Stop accepting, let in-flight requests finish within the grace period, then close every
 * connection. Idle keep-alive connections close at once; connections whose request finishes
 * during the drain are told `Connection: close` by the router. Open tunnels (WebSockets) have the
 * grace period too, to be closed by their ends; those still open when it ends are closed.
 */
export const drain = (listener: ProxyListener, gracePeriod: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    listener.server.close()
    listener.server.closeIdleConnections()
    const pending = listener.active()
    const tunnels = listener.tunnels()
    if (pending > 0 || tunnels > 0) yield* Effect.logInfo(`draining ${pending} in-flight request(s), ${tunnels} tunnel(s)`)
    yield* listener.idle.pipe(
      Effect.timeoutOrElse({
        duration: gracePeriod,
        orElse: () =>
          Effect.logWarning(
            `grace period over; closing ${listener.active()} unfinished request(s), ${listener.tunnels()} tunnel(s)`
          )
      })
    )
    listener.server.closeAllConnections()
    listener.closeTunnels()
  })
