/**
 * The `node:http` server in front of the router: parser limits, the answers to requests Node's
 * parser refuses, slow-client protection, and the drain sequence for shutdown.
 *
 * - Headers over `maxHeaderSize` → 431; anything else the parser refuses (bad request line, bad
 *   header bytes, conflicting framing, missing `Host`) → 400; never forwarded.
 * - A client that has not sent its whole head within `timeouts.headers` gets 408 and is
 *   disconnected (slowloris); Node checks at `connectionsCheckingInterval`.
 * - After an answer of its own the listener ends the connection and destroys it at the client's
 *   FIN or after `CLOSE_LINGER_MS`, whatever the client does: a half-closed socket the client
 *   keeps writing to, reading nothing, would otherwise hold its descriptor for ever. An answer
 *   never goes out in the middle of a response already under way: it waits for it.
 * - `HTTP/1.2` and other higher HTTP/1 minor versions are served as HTTP/1.1 (`VersionRescue`);
 *   any other major version (`HTTP/2.0` on this HTTP/1 connection, `HTTP/3.1`) gets 505 and is
 *   never forwarded, plain requests and upgrades alike.
 * - Bytes after a request that said it was the last (HTTP/1.0, `Connection: close`) are not
 *   answered (that request is), and the connection still closes after its response.
 * - Idle keep-alive connections close after `timeouts.idle`; so does a connection on which nothing
 *   moves for that long mid-request.
 * - With a certificate it is an HTTPS server (TLS termination); ALPN offers `h2` and `http/1.1`
 *   (`server.http2`), and the connections that choose h2 go to `Http2Listener`. With `server.h2c`
 *   a plain connection that opens with the HTTP/2 preface goes there too: Node's parser stops at
 *   the preface (`HPE_PAUSED_H2_UPGRADE`), and the connection is taken from it (`ParserHandoff`).
 *   The backends are spoken to as the config says, whatever the client used.
 * - Upgrade requests (WebSocket, h2c) leave Node's HTTP handling as bare sockets: they are tracked
 *   here, so that a drain can close the tunnels still open when its grace period ends.
 */
import { Effect, Predicate } from "effect"
import type { Duration } from "effect"
import { createServer, STATUS_CODES } from "node:http"
import type { IncomingMessage, Server, ServerOptions } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { Duplex } from "node:stream"
import type { TLSSocket } from "node:tls"
import { ListenError } from "../domain/Errors.ts"
import { refusalStatusOf } from "../domain/exchange/Statuses.ts"
import type { ListenAddress } from "../services/ProxyServer.ts"
import type { ClientRequest, ClientResponse } from "./ClientMessage.ts"
import { isHttp2Response, writeResponseHead } from "./ClientMessage.ts"
import { makeHttp2Listener } from "./Http2Listener.ts"
import type { Http2Listener } from "./Http2Listener.ts"
import { inFlightResponse, messageOpen } from "./NodeSocket.ts"
import { detachParser, dispatchesToHttp1 } from "./ParserHandoff.ts"
import { refusedVersion, rescueAsHttp11 } from "./VersionRescue.ts"
import type { ParseError, RefusedVersion } from "./VersionRescue.ts"

export interface ListenerOptions {
  readonly maxHeaderSize: number
  readonly headersTimeoutMs: number
  readonly idleTimeoutMs: number
  /** PEM certificate (chain) and private key: the listener speaks HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string }
  /** With `tls`: ALPN offers h2 too. */
  readonly http2: boolean
  /** A plain listener also takes prior-knowledge HTTP/2. */
  readonly h2c: boolean
  readonly http2MaxStreams: number
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
  /** The HTTP/2 connections, when the listener takes any. */
  readonly http2: Http2Listener | undefined
}

/** An upgrade request, as the server's `upgrade` event hands it over: the socket is the handler's. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * The status Node's parser error deserves: 431 for oversized heads, 408 for slow ones, 505 for a
 * well-formed version this listener does not serve (`refused`, see `VersionRescue`), else 400.
 */
export const clientErrorStatus = (
  code: string | undefined,
  refused?: RefusedVersion
): 400 | 408 | 431 | 505 => refusalStatusOf(clientErrorRefusal(code, refused))

const clientErrorRefusal = (
  code: string | undefined,
  refused: RefusedVersion | undefined
): "malformed" | "head-too-large" | "head-timeout" | "unsupported-version" => {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return "head-too-large"
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "head-timeout"
    case "HPE_INVALID_VERSION":
      return refused === undefined ? "malformed" : "unsupported-version"
    default:
      return "malformed"
  }
}

const answerMessages: Record<400 | 408 | 431 | 505, string> = {
  400: "malformed request",
  408: "the request head did not arrive within timeouts.headers",
  431: "the request head is larger than server.maxHeaderSize",
  505: "only HTTP/1.x is served here"
}

/**
 * How long a connection the listener closes itself stays open after its last answer. Destroying
 * it at once would reset the connection while the client's bytes are still arriving, and a reset
 * can make the client's stack drop our answer unread; waiting for the client to close instead
 * would let one that never does (slowloris, dripping a header line a second and reading nothing)
 * hold its descriptor for as long as it likes. So our side is ended with the answer, and the
 * socket destroyed at the client's FIN or after this long, whichever comes first.
 */
export const CLOSE_LINGER_MS = 1_000

const answerBody = (status: 400 | 408 | 431 | 505): string =>
  JSON.stringify({ status, error: (STATUS_CODES[status] ?? "").toLowerCase(), message: answerMessages[status] })

/** The listener's own answer, on the bare socket: a small JSON body, then the connection closes. */
const ownAnswer = (status: 400 | 408 | 431 | 505): string => {
  const body = answerBody(status)
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

const versionRefusal = ownAnswer(505)
const versionRefusalBody = answerBody(505)
const versionRefusalHead = [
  "content-type",
  "application/json",
  "content-length",
  String(Buffer.byteLength(versionRefusalBody)),
  "connection",
  "close"
]

/** A parsed request of another major version (`HTTP/2.0` on an HTTP/1 connection, `HTTP/0.9`). */
const refuseVersion = (response: ClientResponse): void => {
  writeResponseHead(response, 505, versionRefusalHead)
  response.end(versionRefusalBody)
}

/** Sockets the listener is closing: answered at most once, whatever else arrives on them. */
const closing = new WeakSet<Duplex>()

function destroyOnEnd(this: Duplex): void {
  this.destroy()
}

/** Ends the socket (with `answer`, if any), then destroys it at the client's FIN or after the linger. */
const closeWithLinger = (socket: Duplex, answer: string | undefined): void => {
  if (socket.destroyed) return
  if (socket.writable) {
    if (answer === undefined) socket.end()
    else socket.end(answer)
  }
  const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref()
  socket.once("end", destroyOnEnd)
  socket.once("close", () => clearTimeout(timer))
}

const bytesWrittenOf = (socket: Duplex): number =>
  Predicate.hasProperty(socket, "bytesWritten") && typeof socket.bytesWritten === "number" ? socket.bytesWritten : 0

/**
 * Closes the socket once Node has written every response already under way on it (pipelined
 * ones included), so that an answer of ours never lands inside one of them. Meanwhile only our
 * side moving counts as activity: a client that reads nothing while it keeps sending would keep
 * Node's idle timer from ever firing (each chunk it sends resets it), so when no byte has been
 * written for `idleMs` the socket is destroyed.
 */
const closeAfterResponses = (socket: Duplex, answer: string | undefined, idleMs: number): void => {
  if (inFlightResponse(socket) === undefined) {
    closeWithLinger(socket, answer)
    return
  }
  let written = bytesWrittenOf(socket)
  const watchdog = setInterval(() => {
    const now = bytesWrittenOf(socket)
    if (now === written) socket.destroy()
    written = now
  }, idleMs).unref()
  socket.once("close", () => clearInterval(watchdog))
  const afterEach = () => {
    const response = inFlightResponse(socket)
    if (response !== undefined) {
      response.once("close", afterEach)
      return
    }
    clearInterval(watchdog)
    closeWithLinger(socket, answer)
  }
  afterEach()
}

/**
 * Node's parser refused what the client sent (or Node's headers-timeout checker gave up on it).
 * The connection is finished: it is answered once, and closed whatever the client does next.
 */
const answerClientError = (server: Server, idleMs: number, h2c: Http2Listener | undefined) =>
(
  error: Error & ParseError & { readonly code?: string },
  socket: Duplex
): void => {
  // The parser stays failed and reports again on every further chunk: one answer is enough.
  if (closing.has(socket)) return
  if (error.code === "ECONNRESET" || socket.destroyed) {
    socket.destroy()
    return
  }
  // Bytes after a request that said it was the last (HTTP/1.0, `Connection: close`): that
  // request is being answered and Node ends the connection after it; only the close is ours.
  if (error.code === "HPE_CLOSED_CONNECTION") {
    closing.add(socket)
    closeAfterResponses(socket, undefined, idleMs)
    return
  }
  if (error.code === "HPE_INVALID_VERSION" && rescueAsHttp11(server, socket, error)) return
  if (error.code === "HPE_PAUSED_H2_UPGRADE" && h2c !== undefined && handOverToHttp2(server, socket, error, h2c)) return
  closing.add(socket)
  // An error inside the body of a request already being answered: that response cannot be
  // finished properly, and an answer of ours could land in the middle of it.
  if (inFlightResponse(socket) !== undefined && messageOpen(socket) !== false) {
    socket.destroy()
    return
  }
  const refused = error.code === "HPE_INVALID_VERSION" && Buffer.isBuffer(error.rawPacket) &&
      typeof error.bytesParsed === "number"
    ? refusedVersion(error.rawPacket, error.bytesParsed)
    : undefined
  closeAfterResponses(socket, ownAnswer(clientErrorStatus(error.code, refused)), idleMs)
}

/**
 * A prior-knowledge HTTP/2 connection, stopped by Node's parser at its preface: handed to the
 * HTTP/2 listener with every byte read so far, when the preface is the first thing the connection
 * sent (a preface after HTTP/1.1 requests is not one: that connection gets the parser's `400`).
 */
const handOverToHttp2 = (server: Server, socket: Duplex, error: ParseError, http2: Http2Listener): boolean => {
  const chunk = error.rawPacket
  if (!Buffer.isBuffer(chunk) || !("bytesRead" in socket) || socket.bytesRead !== chunk.length) return false
  if (!detachParser(server, socket)) return false
  http2.accept(socket, chunk)
  return true
}

export const makeProxyListener = (
  options: ListenerOptions,
  handle: (request: ClientRequest, response: ClientResponse) => void,
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
  const track = (request: ClientRequest, response: ClientResponse) => {
    active++
    response.on("close", onResponseClose)
    if (request.httpVersionMajor === 1 || isHttp2Response(response)) handle(request, response)
    else refuseVersion(response)
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
  const http2 = (tls === undefined ? options.h2c : options.http2)
    ? makeHttp2Listener({
      maxStreams: options.http2MaxStreams,
      maxHeaderSize: options.maxHeaderSize,
      idleTimeoutMs: options.idleTimeoutMs,
      refuseHeaders: (response) => {
        const body = answerBody(431)
        response.writeHead(431, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        response.end(body)
      }
    }, track)
    : undefined
  const server: Server = tls === undefined ? createServer(serverOptions, track) : createHttpsServer({
    ...serverOptions,
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: http2 === undefined ? ["http/1.1"] : ["h2", "http/1.1"],
    // `headersTimeout` only starts once the handshake is done: a client stalling the handshake
    // is held to the same limit (slowloris), not to TLS's default two minutes.
    handshakeTimeout: options.headersTimeoutMs
  }, track)
  if (tls !== undefined && http2 !== undefined) chooseByAlpn(server, http2)
  server.timeout = options.idleTimeoutMs
  server.on("clientError", answerClientError(server, options.idleTimeoutMs, tls === undefined ? http2 : undefined))
  // Handling `Expect: 100-continue` ourselves means a request we will refuse (413, 503) never
  // gets the go-ahead to send its body; the router sends `100 Continue` once it has a backend.
  server.on("checkContinue", track)
  if (upgrade !== undefined) {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (request.httpVersionMajor !== 1) {
        closing.add(socket)
        // Read (and drop) whatever follows, so that the client's FIN is seen.
        socket.resume()
        closeWithLinger(socket, versionRefusal)
        return
      }
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
  return { server, active: () => active, tunnels: () => tunnels.size, idle, closeTunnels, http2 }
}

/**
 * The TLS listener's connections, once the handshake is done, go by the protocol ALPN chose:
 * `h2` to the HTTP/2 listener, anything else (`http/1.1`, or a client offering nothing) to Node's
 * HTTP/1 handling, which stays as it is.
 */
const chooseByAlpn = (server: Server, http2: Http2Listener): void => {
  const http1 = server.listeners("secureConnection")
  server.removeAllListeners("secureConnection")
  dispatchesToHttp1(server)
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") return http2.accept(socket)
    for (const listener of http1) Reflect.apply(listener, server, [socket])
  })
}

/**
 * Binds and listens. With `reusePort` (workers, Linux) each process has its own listening socket
 * on the same address (`SO_REUSEPORT`) and the kernel spreads new connections over them.
 */
export const listen = (
  server: Server,
  name: string,
  host: string,
  port: number,
  reusePort = false
): Effect.Effect<ListenAddress, ListenError> =>
  Effect.callback<ListenAddress, ListenError>((resume) => {
    const onError = (error: Error) =>
      resume(Effect.fail(new ListenError({ listener: name, host, port, message: error.message })))
    server.once("error", onError)
    server.listen({ port, host, reusePort }, () => {
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
    listener.http2?.close()
    const pending = listener.active()
    const tunnels = listener.tunnels()
    if (pending > 0 || tunnels > 0) {
      yield* Effect.logInfo(`draining ${pending} in-flight request(s), ${tunnels} tunnel(s)`)
    }
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
    listener.http2?.destroy()
    listener.closeTunnels()
  })
