/**
 * One HTTP/2 session to a backend, carrying many streams at once (`Http2Exchange`), for its pool
 * (`Http2Backend`).
 *
 * The session counts as connected once the backend's SETTINGS arrive, not at the TCP or TLS
 * handshake: until then it is unknown whether the peer speaks HTTP/2 at all (an HTTP/1 server
 * answers the preface with a 400 and a close), nor how many streams it takes. Requests wait for
 * that, so a failed connect — refused, no SETTINGS within `timeouts.connect`, no `h2` from ALPN —
 * fails them before anything was sent.
 *
 * Streams are capped at the backend's SETTINGS_MAX_CONCURRENT_STREAMS (100, RFC 9113's floor for
 * the value, until it is known): Node would queue the rest inside the session without bound, so
 * the pool opens another session instead. A GOAWAY retires the session (streams under its last
 * stream id finish, Node refuses the others); an idle one closes after `timeouts.idle`.
 */
import type { ClientHttp2Session } from "node:http2"
import { ConnectionClosed, ConnectTimeout } from "../Failures.ts"
import type { ConnectionSettings } from "./Http1Connection.ts"
import type { Http2Exchange, StreamOwner } from "./Http2Exchange.ts"

/** The stream cap assumed until the backend's SETTINGS say otherwise (Node's own default for it too). */
export const assumedMaxStreams = 100

/** A TLS backend that would not speak HTTP/2: it chose no `h2` in ALPN, or refused the offer. */
export class NoHttp2 extends Error {
  readonly code = "SWITCHYARD_NO_HTTP2"
}

/** What a session tells the pool it belongs to. */
export interface SessionOwner {
  /** Requests the session can no longer take (fewer streams allowed than waited, a GOAWAY): for another session. */
  readonly redispatch: (exchanges: ReadonlyArray<Http2Exchange>) => void
  /** No stream is open or waiting on the session any more. */
  readonly settled: () => void
  /** The session takes no new streams: it is not to be chosen again. */
  readonly retired: (session: BackendSession) => void
  /** The session is closed: nothing is in flight on it any more. */
  readonly closed: (session: BackendSession) => void
}

/** TLS's alert for an ALPN offer the server has no protocol for (OpenSSL's code, as Node names it). */
const noApplicationProtocol = "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL"

const explain = (error: Error): Error =>
  "code" in error && error.code === noApplicationProtocol
    ? new NoHttp2("the backend does not speak HTTP/2 over TLS (it refused ALPN h2)", { cause: error })
    : error

export class BackendSession implements StreamOwner {
  private readonly session: ClientHttp2Session
  private readonly owner: SessionOwner
  private readonly settings: ConnectionSettings
  private ready = false
  /** Takes no new streams: GOAWAY, closing, or closed. */
  private retired = false
  private closed = false
  private waiting: Array<Http2Exchange> = []
  private active = 0
  private failure: Error | undefined
  /** Until SETTINGS: the connect timeout; then, while no stream is open, the idle timeout. */
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(session: ClientHttp2Session, owner: SessionOwner, settings: ConnectionSettings) {
    this.session = session
    this.owner = owner
    this.settings = settings
    this.timer = setTimeout(() => {
      session.destroy(new ConnectTimeout(`no HTTP/2 connection within ${settings.connectTimeoutMs} ms`))
    }, settings.connectTimeoutMs)
    session.once("connect", () => {
      if (session.encrypted && session.alpnProtocol !== "h2") {
        session.destroy(
          new NoHttp2(`the backend does not speak HTTP/2 over TLS (ALPN chose ${String(session.alpnProtocol)})`)
        )
      }
    })
    session.once("remoteSettings", () => this.onReady())
    session.on("goaway", () => this.retire())
    session.on("error", (error: Error) => {
      this.failure ??= explain(error)
    })
    session.once("close", () => this.onClose())
  }

  /** Streams open or waiting for the connect. */
  get load(): number {
    return this.active + this.waiting.length
  }

  /** Takes another stream without going over the backend's limit. */
  get hasRoom(): boolean {
    return !this.retired && this.load < this.limit()
  }

  /** Sends `exchange` now if connected, else once connected. */
  take(exchange: Http2Exchange): void {
    if (this.ready) this.open(exchange)
    else this.waiting.push(exchange)
  }

  /** Takes no new streams, and closes once the last one is over. */
  close(): void {
    this.retire()
    if (this.load === 0) this.session.close()
  }

  /** Closes at once; open streams end with an error, waiting requests as a failed connect. */
  destroy(): void {
    this.session.destroy()
  }

  streamClosed(): void {
    this.active--
    this.idle()
  }

  /** At least one: a backend that allows none for now gets one stream, queued by Node, not a new session each time. */
  private limit(): number {
    if (!this.ready) return assumedMaxStreams
    return Math.max(1, this.session.remoteSettings.maxConcurrentStreams ?? assumedMaxStreams)
  }

  private onReady(): void {
    this.ready = true
    clearTimeout(this.timer)
    this.timer = undefined
    const waiting = this.waiting
    this.waiting = []
    const room = Math.max(0, this.limit() - this.active)
    for (const exchange of waiting.slice(0, room)) this.open(exchange)
    if (waiting.length > room) this.owner.redispatch(waiting.slice(room))
    this.idle()
  }

  private open(exchange: Http2Exchange): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    // Counted before the handler hears of it: the stream's close, which uncounts it, may follow at any point.
    this.active++
    if (!exchange.start(this.session, this)) this.streamClosed()
  }

  /** With nothing in flight: closed when retired, else kept for `timeouts.idle`. */
  private idle(): void {
    if (this.load > 0 || this.closed) return
    if (this.retired) this.session.close()
    else this.timer ??= setTimeout(() => this.close(), this.settings.idleMs)
    this.owner.settled()
  }

  private retire(): void {
    if (this.retired) return
    this.retired = true
    this.owner.retired(this)
  }

  private onClose(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.closed = true
    this.retire()
    const waiting = this.waiting
    this.waiting = []
    const error = this.failure ?? new ConnectionClosed("the backend closed the HTTP/2 connection")
    for (const exchange of waiting) exchange.refuse(error)
    this.owner.closed(this)
  }
}
