/**
 * One HTTP/1.1 connection to a backend, carrying one request at a time (no pipelining: a slow
 * response must not hold up the next request), its response read by llhttp (`Llhttp.ts`).
 *
 * Per request: the head is one latin1 string in one write; a body streams from the client's
 * request with backpressure both ways (reading it pauses while the backend's socket is full;
 * reading the response pauses while the client's is, `pause`/`resume`). The parser's callbacks
 * are set once per connection, so a request allocates no closure here; on plain TCP the parser
 * reads the socket itself (`SocketReads.ts`).
 *
 * What the parser's rules give, and what is decided here:
 * - an unsolicited `100 Continue` is swallowed (the proxy never forwards `Expect`); other `1xx`
 *   heads go to the handler as interim responses, then the final one;
 * - a `101` (never asked for) is a bad response; `HEAD` responses and `204`/`304` have no body;
 * - the connection is reused only after a complete response that allows it (`Connection`,
 *   version), to a request sent in full, and never after a `204`/`304`: bytes a backend sends
 *   after one could only be read as the next response;
 * - a connection the backend closes, a parse error or a stall of `timeouts.idle` in a body end the
 *   request with `onResponseError`; before `onRequestStart` it means nothing was sent.
 */
import type { Socket } from "node:net"
import type { Readable } from "node:stream"
import type { UpstreamControl, UpstreamHandler, UpstreamRequest } from "../../services/Upstream.ts"
import { BadFraming, BodyTimeout, ConnectionClosed, ConnectTimeout } from "../Failures.ts"
import { isBodiless } from "../HeaderRules.ts"
import type { AfterHead, ResponseParser } from "./Llhttp.ts"
import {
  kOnBody,
  kOnHeaders,
  kOnHeadersComplete,
  kOnMessageBegin,
  kOnMessageComplete,
  responseParser
} from "./Llhttp.ts"
import { bodyFailure, listenToBody, stopListening } from "./RequestBody.ts"
import type { BodyListeners } from "./RequestBody.ts"
import { requestHead } from "./RequestHead.ts"
import { readInto } from "./SocketReads.ts"
import type { SocketReads } from "./SocketReads.ts"

/** Trailers of a chunked response are not relayed over HTTP/1.1 (none of its clients here asks for them). */
const noTrailers: ReadonlyArray<string> = []

/** What a connection tells the pool it belongs to. */
export interface ConnectionOwner {
  /** The response is over and the connection may carry another request, for `keepMs` at most. */
  readonly reusable: (connection: Http1Connection, keepMs: number) => void
  /** The connection is closed (by either side), or is closing and must not be handed out. */
  readonly closed: (connection: Http1Connection) => void
}

export interface ConnectionSettings {
  readonly connectTimeoutMs: number
  /** `timeouts.idle`: the longest silence in a response body, and idle in the pool. */
  readonly idleMs: number
}

/**
 * How long after its last response a connection may be reused, from a backend's
 * `Keep-Alive: timeout=N` hint: 2 s less than N, so that a request is not written just as the
 * backend closes (undici's margin, `keepAliveTimeoutThreshold`); 0 (do not keep) when N ≤ 2 s.
 */
export const keepMsFor = (headers: ReadonlyArray<string>, idleMs: number): number => {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] ?? ""
    if (name.length !== 10 || name.toLowerCase() !== "keep-alive") continue
    const seconds = /(?:^|[\s,])timeout\s*=\s*(\d+)/i.exec(headers[i + 1] ?? "")?.[1]
    if (seconds !== undefined) return Math.max(0, Math.min(idleMs, (Number(seconds) - 2) * 1000))
  }
  return idleMs
}

export class Http1Connection implements UpstreamControl, BodyListeners {
  private readonly socket: Socket
  private readonly parser: ResponseParser
  private readonly owner: ConnectionOwner
  private readonly settings: ConnectionSettings
  private connected = false
  /** Set once connected. */
  private reads: SocketReads | undefined
  private handler: UpstreamHandler | undefined
  /** What `start` was given, waiting for the connection to be up. */
  private head = ""
  private body: Readable | null = null
  private chunked = false
  private headOnly = false
  private sent = false
  /** The final head arrived (interim ones do not count). */
  private final = false
  private status = 0
  private keepMs = 0
  /** Head lines of a head that spans reads (llhttp hands them over before its end). */
  private pendingHeaders: Array<string> = []

  constructor(socket: Socket, owner: ConnectionOwner, settings: ConnectionSettings, connectEvent: string) {
    this.socket = socket
    this.owner = owner
    this.settings = settings
    const parser = responseParser(0)
    this.parser = parser
    parser[kOnMessageBegin] = () => {
      // A response nobody asked for: the connection cannot be trusted with another request.
      if (this.handler === undefined) this.socket.destroy()
    }
    parser[kOnHeaders] = (headers: Array<string>) => {
      for (const line of headers) this.pendingHeaders.push(line)
    }
    parser[kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: Array<string> | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      statusMessage: string,
      upgrade: boolean,
      keepAlive: boolean
    ): AfterHead => this.onHead(headers, status, statusMessage, upgrade, keepAlive)
    parser[kOnBody] = (chunk: Buffer) => {
      if (this.handler !== undefined && this.final) this.handler.onResponseData(this, chunk)
    }
    parser[kOnMessageComplete] = () => this.onMessageComplete()
    socket.setTimeout(settings.connectTimeoutMs)
    socket.once(connectEvent, () => this.onConnect())
    socket.on("end", () => this.onEnd())
    socket.on("error", (error: Error) => this.fail(error))
    socket.on("timeout", () => this.onTimeout())
    socket.on("drain", () => this.body?.resume())
    socket.once("close", () => this.onClose())
  }

  /** Sends `request` (its target already under the backend's prefix) and reports to `handler`. */
  start(target: string, request: UpstreamRequest, handler: UpstreamHandler): void {
    this.handler = handler
    this.head = requestHead(target, request)
    this.body = request.body
    this.chunked = request.framing === "chunked"
    this.headOnly = request.method === "HEAD"
    this.sent = false
    this.final = false
    if (this.connected) this.send()
  }

  abort(reason: Error): void {
    this.fail(reason)
  }

  pause(): void {
    this.reads?.pause()
  }

  resume(): void {
    this.reads?.resume()
  }

  /** Closes the connection; a request on it ends with `onResponseError`. */
  destroy(): void {
    this.socket.destroy()
  }

  private onConnect(): void {
    this.connected = true
    this.reads = readInto(this.socket, this.parser, (result) => {
      if (typeof result !== "number") this.fail(result)
    })
    this.socket.setNoDelay(true)
    this.socket.setTimeout(this.settings.idleMs)
    if (this.handler !== undefined) this.send()
  }

  private send(): void {
    const handler = this.handler
    if (handler === undefined) return
    handler.onRequestStart(this)
    // The handler may have aborted at once (its client gone meanwhile).
    if (this.handler !== handler) return
    this.socket.write(this.head, "latin1")
    this.head = ""
    const body = this.body
    if (body === null) return this.requestSent()
    listenToBody(body, this)
  }

  readonly onBodyData = (chunk: Buffer): void => {
    const socket = this.socket
    let ok: boolean
    if (this.chunked) {
      socket.cork()
      socket.write(`${chunk.length.toString(16)}\r\n`, "latin1")
      socket.write(chunk)
      ok = socket.write("\r\n", "latin1")
      socket.uncork()
    } else ok = socket.write(chunk)
    if (!ok) this.body?.pause()
  }

  readonly onBodyEnd = (): void => {
    if (this.chunked) this.socket.write("0\r\n\r\n", "latin1")
    this.detachBody()
    this.requestSent()
  }

  readonly onBodyError = (error: Error): void => {
    this.fail(bodyFailure(error))
  }

  readonly onBodyClose = (): void => {
    if (this.body !== null) this.fail(bodyFailure(undefined))
  }

  private detachBody(): void {
    const body = this.body
    if (body === null) return
    this.body = null
    stopListening(body, this)
  }

  private requestSent(): void {
    this.sent = true
    this.handler?.onRequestSent()
  }

  private onHead(
    headers: Array<string> | undefined,
    status: number,
    statusMessage: string,
    upgrade: boolean,
    keepAlive: boolean
  ): AfterHead {
    const raw = headers ?? this.pendingHeaders
    this.pendingHeaders = []
    const handler = this.handler
    // An unsolicited `100`: the proxy sent no `Expect`, so it is for this hop alone; the parser
    // starts over with the next head.
    if (handler === undefined || status === 100) return 0
    if (status === 101 || upgrade) {
      this.fail(new BadFraming(`the backend switched protocols (${status}) unasked`))
      return 1
    }
    if (status >= 200) {
      this.final = true
      this.status = status
      this.keepMs = keepAlive ? keepMsFor(raw, this.settings.idleMs) : 0
    }
    handler.onResponseStart(this, status, raw, statusMessage)
    return this.headOnly ? 1 : 0
  }

  private onMessageComplete(): void {
    const handler = this.handler
    if (handler === undefined || !this.final) return
    this.handler = undefined
    const reusable = this.keepMs > 0 && this.sent && !isBodiless(this.status)
    this.detachBody()
    handler.onResponseEnd(noTrailers)
    if (!reusable) return this.close()
    // The last chunk may have come in the read that filled the client's socket: an idle
    // connection reads, or it would not see the backend close it.
    this.reads?.resume()
    this.owner.reusable(this, this.keepMs)
  }

  private onEnd(): void {
    // A body delimited by the connection's end is complete now; anything else was cut short.
    if (this.handler !== undefined) {
      const result = this.parser.finish()
      if (result !== undefined) this.fail(result)
    }
    this.close()
  }

  private onTimeout(): void {
    if (!this.connected) {
      this.fail(new ConnectTimeout(`no connection within ${this.settings.connectTimeoutMs} ms`))
      return
    }
    // Waiting for the head is the handler's deadline (`timeouts.request`), not this one.
    if (this.handler !== undefined && !this.final) return
    if (this.handler === undefined) this.close()
    else this.fail(new BodyTimeout(`the response body stalled for ${this.settings.idleMs} ms`))
  }

  private fail(error: Error): void {
    const handler = this.handler
    this.handler = undefined
    this.detachBody()
    this.close()
    handler?.onResponseError(error)
  }

  private close(): void {
    this.owner.closed(this)
    this.socket.destroy()
  }

  private onClose(): void {
    this.owner.closed(this)
    this.fail(new ConnectionClosed("the backend closed the connection"))
    this.reads?.release()
    this.parser.close()
  }
}
