/**
 * The keep-alive connections to one backend: opened on demand, kept while idle, reused most
 * recently released first. No limit on their number here: `maxConnections` bounds the requests
 * in flight to a backend before one is sent (the registry's eligibility), and so the connections.
 *
 * Safe reuse. A backend closes a keep-alive connection once it has been idle for its own timeout
 * (gunicorn 2 s, Node 5 s, Apache 5 s, nginx 75 s), and a request written just as it does is lost
 * before any byte of it is read. A bodiless idempotent request lost that way is replayed on a
 * fresh connection (`ProxyExchange`); one with a body, or with a method that is not idempotent,
 * must not be (from here it cannot be told from a request the backend processed and then died
 * on), so its client would get a `502`. So such a request goes out only on a connection whose last
 * response ended within `oneShotKeepAliveMs` (1 s, below any common backend idle timeout), or on
 * a new one: the idea of HAProxy's `http-reuse safe`. Under steady traffic the freshest idle
 * connection always qualifies; a request after a quiet second pays a new connect.
 * Idle connections close after `timeouts.idle`, or sooner when the backend's `Keep-Alive:
 * timeout=N` hint says so (`keepMsFor`).
 */
import { connect as connectTcp } from "node:net"
import type { Socket } from "node:net"
import { connect as connectTls } from "node:tls"
import type { BackendSpec } from "../../domain/Backend.ts"
import type { UpstreamHandler, UpstreamRequest } from "../../services/Upstream.ts"
import { backendAddress, tlsPeer } from "./BackendAddress.ts"
import type { BackendAddress } from "./BackendAddress.ts"
import type { BackendClient } from "./BackendClient.ts"
import { Http1Connection } from "./Http1Connection.ts"
import type { ConnectionOwner, ConnectionSettings } from "./Http1Connection.ts"

/** The longest a connection for requests that cannot be replayed may have been idle. */
export const oneShotKeepAliveMs = 1_000

interface Idle {
  readonly connection: Http1Connection
  /** `performance.now()` when its last response ended. */
  readonly since: number
  readonly keepMs: number
}

export class BackendConnections implements BackendClient, ConnectionOwner {
  private readonly address: BackendAddress
  private readonly settings: ConnectionSettings
  /** Idle connections, the most recently released last. */
  private readonly idle: Array<Idle> = []
  private readonly busy = new Set<Http1Connection>()
  private closing = false
  /** Told when the last busy connection is done, once closing. */
  private onDrained: (() => void) | undefined
  /** The last TLS session, offered on the next handshake (resumption). */
  private tlsSession: Buffer | undefined

  constructor(backend: BackendSpec, settings: ConnectionSettings) {
    this.address = backendAddress(backend)
    this.settings = settings
  }

  /** Sends `request` on an idle connection that may carry it, or on a new one. */
  dispatch(target: string, request: UpstreamRequest, handler: UpstreamHandler, replayable: boolean): void {
    const connection = this.take(replayable) ?? this.open()
    this.busy.add(connection)
    connection.start(target, request, handler)
  }

  /** Closes the idle connections now, the busy ones once their response is over. */
  close(): void {
    this.closing = true
    for (const { connection } of this.idle.splice(0)) connection.destroy()
  }

  /** Resolves once no request is in flight here any more (at once if none is); call after `close`. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (this.busy.size === 0) return resolve()
      this.onDrained = resolve
    })
  }

  /** Closes every connection, busy or not. */
  destroy(): void {
    this.close()
    for (const connection of this.busy) connection.destroy()
  }

  reusable(connection: Http1Connection, keepMs: number): void {
    this.busy.delete(connection)
    if (!this.closing) return void this.idle.push({ connection, since: performance.now(), keepMs })
    connection.destroy()
    this.settle()
  }

  closed(connection: Http1Connection): void {
    if (this.busy.delete(connection)) return this.settle()
    const index = this.idle.findIndex((idle) => idle.connection === connection)
    if (index !== -1) this.idle.splice(index, 1)
  }

  private settle(): void {
    if (this.busy.size === 0) this.onDrained?.()
  }

  private take(replayable: boolean): Http1Connection | undefined {
    const now = performance.now()
    for (let idle = this.idle.pop(); idle !== undefined; idle = this.idle.pop()) {
      const quiet = now - idle.since
      if (quiet >= idle.keepMs) {
        idle.connection.destroy()
        continue
      }
      if (replayable || quiet < oneShotKeepAliveMs) return idle.connection
      // The freshest is too old for this request, and every other one is older.
      this.idle.push(idle)
      return undefined
    }
    return undefined
  }

  private open(): Http1Connection {
    const address = this.address
    if (!address.secure) {
      return new Http1Connection(
        connectTcp({ host: address.host, port: address.port }),
        this,
        this.settings,
        "connect"
      )
    }
    const socket: Socket = connectTls({
      ...tlsPeer(address),
      ...(this.tlsSession === undefined ? {} : { session: this.tlsSession }),
      ALPNProtocols: ["http/1.1"]
    })
    socket.on("session", (session: Buffer) => {
      this.tlsSession = session
    })
    return new Http1Connection(socket, this, this.settings, "secureConnect")
  }
}
