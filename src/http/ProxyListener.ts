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
 */
import { Effect } from "effect"
import type { Duration } from "effect"
import { createServer, STATUS_CODES } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { ListenError } from "../domain/Errors.ts"
import type { ListenAddress } from "../services/ProxyServer.ts"

export interface ListenerOptions {
  readonly maxHeaderSize: number
  readonly headersTimeoutMs: number
  readonly idleTimeoutMs: number
}

export interface ProxyListener {
  readonly server: Server
  /** Requests whose response has not closed yet. */
  readonly active: () => number
  /** Resolves once no request is active (at once if none is). */
  readonly idle: Effect.Effect<void>
}

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
  handle: (request: IncomingMessage, response: ServerResponse) => void
): ProxyListener => {
  let active = 0
  let onIdle: (() => void) | undefined
  const onResponseClose = () => {
    active--
    if (active === 0 && onIdle !== undefined) onIdle()
  }
  const track = (request: IncomingMessage, response: ServerResponse) => {
    active++
    response.on("close", onResponseClose)
    handle(request, response)
  }
  const server = createServer({
    maxHeaderSize: options.maxHeaderSize,
    headersTimeout: options.headersTimeoutMs,
    // Whole-request deadlines would cut off long uploads; the idle timeout guards stalls instead.
    requestTimeout: 0,
    keepAliveTimeout: options.idleTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
    requireHostHeader: true,
    noDelay: true
  }, track)
  server.timeout = options.idleTimeoutMs
  server.on("clientError", answerClientError)
  // Handling `Expect: 100-continue` ourselves means a request we will refuse (413, 503) never
  // gets the go-ahead to send its body; the router sends `100 Continue` once it has a backend.
  server.on("checkContinue", track)

  const idle = Effect.callback<void>((resume) => {
    if (active === 0) {
      resume(Effect.void)
      return
    }
    onIdle = () => resume(Effect.void)
    return Effect.sync(() => {
      onIdle = undefined
    })
  })
  return { server, active: () => active, idle }
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
 * during the drain are told `Connection: close` by the router.
 */
export const drain = (listener: ProxyListener, gracePeriod: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    listener.server.close()
    listener.server.closeIdleConnections()
    const pending = listener.active()
    if (pending > 0) yield* Effect.logInfo(`draining ${pending} in-flight request(s)`)
    yield* listener.idle.pipe(
      Effect.timeoutOrElse({
        duration: gracePeriod,
        orElse: () => Effect.logWarning(`grace period over; closing ${listener.active()} unfinished request(s)`)
      })
    )
    listener.server.closeAllConnections()
  })
