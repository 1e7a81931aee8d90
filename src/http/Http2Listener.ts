/**
 * The HTTP/2 side of the proxy listener. It never listens itself: the listener hands it the
 * connections that speak h2 — TLS ones whose ALPN chose `h2`, and, with `server.h2c`, plain ones
 * that opened with the HTTP/2 preface — and each stream becomes a request for the same handler
 * HTTP/1.1 requests go to, through Node's compatibility API.
 *
 * Limits, per connection:
 * - `server.http2MaxStreams` concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS); nghttp2 refuses
 *   any beyond it;
 * - the header list at most `server.maxHeaderSize` (SETTINGS_MAX_HEADER_LIST_SIZE), as HTTP/1's
 *   head is; at most `maxHeaderPairs` fields;
 * - connection-specific fields (`Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade`, a `TE`
 *   other than `trailers`) make a request malformed (RFC 9113 §8.2.2): nghttp2 resets such a
 *   stream with PROTOCOL_ERROR before it reaches the proxy;
 * - a reset flood ends the connection with GOAWAY (`domain/exchange/ResetFlood.ts`), on top of
 *   nghttp2's own limit on the rate of RST_STREAMs a client sends;
 * - a stream on which nothing moves for `timeouts.idle` (a client that stopped reading, so that
 *   flow control holds the response back) is cancelled, and a connection idle that long closes;
 *   with flow control and the exchange's backpressure, what a slow reader costs stays bounded.
 */
import { constants, createServer } from "node:http2"
import type { Http2ServerRequest, Http2ServerResponse, Http2Session, ServerHttp2Stream } from "node:http2"
import type { Duplex } from "node:stream"
import { emptyTally, isPremature, isResetFlood, tallyClose } from "../domain/exchange/ResetFlood.ts"
import type { StreamTally } from "../domain/exchange/ResetFlood.ts"

export interface Http2Options {
  readonly maxStreams: number
  readonly maxHeaderSize: number
  readonly idleTimeoutMs: number
  /** Answers a request whose header list is over `maxHeaderSize` (the listener's `431`). */
  readonly refuseHeaders: (response: Http2ServerResponse) => void
}

export interface Http2Listener {
  /** Serves `socket` as HTTP/2; `head` is what was read from it already (the preface, for h2c). */
  readonly accept: (socket: Duplex, head?: Buffer) => void
  /** Open connections. */
  readonly sessions: () => number
  /** GOAWAY to every connection: no new streams, the open ones may finish. */
  readonly close: () => void
  /** Closes every connection now. */
  readonly destroy: () => void
}

/** Node's default of 128 header fields is stricter than HTTP/1's; the size limit is what binds. */
const maxHeaderPairs = 1_000

const tallies = new WeakMap<Http2Session, StreamTally>()

/**
 * A header list's size as HTTP/2 counts it (RFC 9113 §6.5.2): each field's name and value plus
 * 32. nghttp2 only advertises the limit; holding a client to it is the server's business.
 */
export const headerListSize = (raw: ReadonlyArray<string>): number => {
  let size = 0
  for (const field of raw) size += field.length
  return size + 16 * raw.length
}

/**
 * Counts each stream's end against its connection, and ends a connection whose streams are a
 * reset flood.
 */
const watchStream = (stream: ServerHttp2Stream, idleTimeoutMs: number): void => {
  const opened = performance.now()
  // Taken now: a closed stream no longer knows its session.
  const session = stream.session
  stream.setTimeout(idleTimeoutMs, () => stream.close(constants.NGHTTP2_CANCEL))
  stream.once("close", () => {
    if (session === undefined || session.destroyed) return
    const reset = stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR
    const tally = tallyClose(
      tallies.get(session) ?? emptyTally,
      isPremature(reset, stream.headersSent, performance.now() - opened)
    )
    tallies.set(session, tally)
    if (!isResetFlood(tally)) return
    // GOAWAY first, with the code that says why; `destroy` on its own would say NO_ERROR.
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM)
    session.destroy()
  })
}

export const makeHttp2Listener = (
  options: Http2Options,
  handle: (request: Http2ServerRequest, response: Http2ServerResponse) => void
): Http2Listener => {
  const open = new Set<Http2Session>()
  const server = createServer({
    settings: {
      maxConcurrentStreams: options.maxStreams,
      maxHeaderListSize: options.maxHeaderSize,
      enablePush: false
    },
    maxHeaderListPairs: maxHeaderPairs
  })
  const admit = (request: Http2ServerRequest, response: Http2ServerResponse) => {
    if (headerListSize(request.rawHeaders) > options.maxHeaderSize) return options.refuseHeaders(response)
    handle(request, response)
  }
  server.on("request", admit)
  // The exchange answers `Expect: 100-continue` itself, once a backend is chosen.
  server.on("checkContinue", admit)
  server.on("stream", (stream: ServerHttp2Stream) => watchStream(stream, options.idleTimeoutMs))
  server.on("session", (session: Http2Session) => {
    open.add(session)
    session.setTimeout(options.idleTimeoutMs, () => {
      session.goaway(constants.NGHTTP2_NO_ERROR)
      session.destroy()
    })
    session.once("close", () => open.delete(session))
  })
  return {
    accept: (socket, head) => {
      // The session reads what is buffered, then the socket's handle directly: resuming the
      // socket here would pull bytes through the JS stream past the session.
      if (head !== undefined) socket.unshift(head)
      server.emit("connection", socket)
    },
    sessions: () => open.size,
    close: () => {
      for (const session of open) session.close()
    },
    destroy: () => {
      for (const session of open) session.destroy()
    }
  }
}
