/**
 * The HTTP/2 connections to one backend (`protocol: h2c` or `h2`): one session, every request a
 * stream on it, and another session only while the first has as many streams as the backend
 * allows (`Http2Session.ts`). A session that closed or got a GOAWAY is dropped, and the next
 * request opens a new one.
 *
 * TLS (`h2`) offers exactly `h2` in ALPN: a backend that picks nothing else is a failed connect
 * with its reason (`NoHttp2`), never a silent fall-back to HTTP/1.1. The server name is sent for
 * host names, and the last TLS session is offered again (resumption), as for HTTP/1.1.
 */
import { connect } from "node:http2"
import type { ClientHttp2Session } from "node:http2"
import { connect as connectTcp } from "node:net"
import type { Socket } from "node:net"
import { connect as connectTls } from "node:tls"
import { originOf } from "../../domain/Backend.ts"
import type { BackendSpec } from "../../domain/Backend.ts"
import type { UpstreamHandler, UpstreamRequest } from "../../services/Upstream.ts"
import { backendAddress, tlsPeer } from "./BackendAddress.ts"
import type { BackendAddress } from "./BackendAddress.ts"
import type { BackendClient } from "./BackendClient.ts"
import type { ConnectionSettings } from "./Http1Connection.ts"
import { Http2Exchange } from "./Http2Exchange.ts"
import { requestHeaderBlock } from "./Http2Headers.ts"
import { BackendSession } from "./Http2Session.ts"
import type { SessionOwner } from "./Http2Session.ts"

export class Http2Backend implements BackendClient, SessionOwner {
  private readonly url: URL
  private readonly address: BackendAddress
  private readonly scheme: string
  private readonly settings: ConnectionSettings
  /** Sessions that take new streams, the oldest first. */
  private readonly sessions: Array<BackendSession> = []
  /** Every session not closed yet, retired ones too (their streams finish). */
  private readonly all = new Set<BackendSession>()
  private closing = false
  /** Told when nothing is in flight any more, once closing. */
  private onDrained: (() => void) | undefined
  /** The last TLS session, offered on the next handshake (resumption). */
  private tlsSession: Buffer | undefined

  constructor(backend: BackendSpec, settings: ConnectionSettings) {
    this.url = new URL(originOf(backend))
    this.address = backendAddress(backend)
    this.scheme = this.address.secure ? "https" : "http"
    this.settings = settings
  }

  /** Sends `request` on a stream; whether it could be replayed does not matter here (no keep-alive race). */
  dispatch(target: string, request: UpstreamRequest, handler: UpstreamHandler): void {
    const block = requestHeaderBlock(target, request, this.scheme, this.url.host)
    this.place(new Http2Exchange(block, request.body, handler, this.settings.idleMs))
  }

  /** Closes the sessions without streams now, the others once their last stream is over. */
  close(): void {
    this.closing = true
    for (const session of this.all) session.close()
  }

  /** Resolves once no request is in flight here any more (at once if none is); call after `close`. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.busy()) return resolve()
      this.onDrained = resolve
    })
  }

  /** Closes every session, streams or not. */
  destroy(): void {
    this.close()
    for (const session of this.all) session.destroy()
  }

  redispatch(exchanges: ReadonlyArray<Http2Exchange>): void {
    for (const exchange of exchanges) this.place(exchange)
  }

  settled(): void {
    if (!this.busy()) this.onDrained?.()
  }

  retired(session: BackendSession): void {
    const index = this.sessions.indexOf(session)
    if (index !== -1) this.sessions.splice(index, 1)
  }

  closed(session: BackendSession): void {
    this.all.delete(session)
    this.settled()
  }

  private busy(): boolean {
    for (const session of this.all) if (session.load > 0) return true
    return false
  }

  private place(exchange: Http2Exchange): void {
    const session = this.sessionWithRoom()
    session.take(exchange)
    // A request that came in as the backend left: its session closes after it.
    if (this.closing) session.close()
  }

  private sessionWithRoom(): BackendSession {
    for (const session of this.sessions) if (session.hasRoom) return session
    const session = new BackendSession(this.connect(), this, this.settings)
    this.all.add(session)
    this.sessions.push(session)
    return session
  }

  private connect(): ClientHttp2Session {
    const address = this.address
    return connect(this.url.origin, {
      createConnection: (): Socket => {
        if (!address.secure) return connectTcp({ host: address.host, port: address.port, noDelay: true })
        const socket = connectTls({
          ...tlsPeer(address),
          ...(this.tlsSession === undefined ? {} : { session: this.tlsSession }),
          ALPNProtocols: ["h2"]
        })
        socket.setNoDelay(true)
        socket.on("session", (ticket: Buffer) => {
          this.tlsSession = ticket
        })
        return socket
      }
    })
  }
}
