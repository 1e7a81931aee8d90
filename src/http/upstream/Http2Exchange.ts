/**
 * One request to an HTTP/2 backend, on one stream of a session (`Http2Session.ts`), reported to
 * its handler in `UpstreamHandler`'s order.
 *
 * The stream is opened only on a session whose backend has sent its SETTINGS, so everything before
 * `onRequestStart` is the connect, and a failure there means nothing was sent. The request body
 * streams in with backpressure (reading it pauses while the stream's send buffer is full); the
 * response's `pause`/`resume` pause the stream, which withholds WINDOW_UPDATEs, so a slow client
 * holds the backend back instead of the proxy buffering for it.
 *
 * How a stream ends: its readable side ends (`onResponseEnd`, with the trailers if any), or it
 * closes first: `REFUSED_STREAM` before any head (also what Node gives the streams above a
 * GOAWAY's last stream id) is `StreamRefused`, anything else an error. After `abort` or an error
 * the handler hears nothing more, and the stream is cancelled (`RST_STREAM CANCEL`).
 */
import { constants } from "node:http2"
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from "node:http2"
import type { Readable } from "node:stream"
import type { UpstreamControl, UpstreamHandler } from "../../services/Upstream.ts"
import { BodyTimeout, ConnectionClosed, StreamRefused } from "../Failures.ts"
import { responseFields } from "./Http2Headers.ts"
import { bodyFailure, listenToBody, stopListening } from "./RequestBody.ts"
import type { BodyListeners } from "./RequestBody.ts"

const noTrailers: ReadonlyArray<string> = []

/** What an exchange tells the session it runs on. */
export interface StreamOwner {
  readonly streamClosed: () => void
}

export class Http2Exchange implements UpstreamControl, BodyListeners {
  private readonly block: Array<string>
  private readonly idleMs: number
  private handler: UpstreamHandler | undefined
  private stream: ClientHttp2Stream | undefined
  private owner: StreamOwner | undefined
  private body: Readable | null
  private sent = false
  /** A head arrived, interim or final: the backend has seen the request. */
  private headed = false
  private final = false
  private trailers: ReadonlyArray<string> = noTrailers
  private error: Error | undefined

  /** `block` is the request's header block (`requestHeaderBlock`); `idleMs` the longest silence in a response body. */
  constructor(block: Array<string>, body: Readable | null, handler: UpstreamHandler, idleMs: number) {
    this.block = block
    this.body = body
    this.handler = handler
    this.idleMs = idleMs
  }

  /** No session could carry the request (the connect failed): nothing was sent. */
  refuse(error: Error): void {
    const handler = this.handler
    this.handler = undefined
    handler?.onResponseError(error)
  }

  /** Opens the stream on a session ready for it; false when none could be opened (the handler has heard why). */
  start(session: ClientHttp2Session, owner: StreamOwner): boolean {
    const handler = this.handler
    if (handler === undefined) return false
    let stream: ClientHttp2Stream
    try {
      stream = session.request(this.block, { endStream: this.body === null })
    } catch (error) {
      // A header Node will not send (an invalid value), or a session that just went away.
      this.refuse(error instanceof Error ? error : new ConnectionClosed(String(error)))
      return false
    }
    this.stream = stream
    this.owner = owner
    stream.on("headers", this.onInterim)
    stream.on("response", this.onHead)
    stream.on("data", this.onData)
    stream.on("trailers", this.onTrailers)
    stream.on("end", this.onEnd)
    stream.on("error", this.onError)
    stream.on("timeout", this.onTimeout)
    stream.on("drain", this.onDrain)
    stream.once("close", this.onClose)
    handler.onRequestStart(this)
    // The handler may have aborted at once (its client gone meanwhile).
    if (this.handler !== handler) return true
    const body = this.body
    if (body === null) {
      this.requestSent()
      return true
    }
    listenToBody(body, this)
    return true
  }

  abort(reason: Error): void {
    this.fail(reason)
  }

  pause(): void {
    this.stream?.pause()
  }

  resume(): void {
    this.stream?.resume()
  }

  readonly onBodyData = (chunk: Buffer): void => {
    if (this.stream?.write(chunk) === false) this.body?.pause()
  }

  private readonly onDrain = (): void => {
    this.body?.resume()
  }

  readonly onBodyEnd = (): void => {
    this.detachBody()
    this.stream?.end()
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

  /** A `1xx` head; Node reports a `100` apart (`continue`), never asked for here. */
  private readonly onInterim = (headers: IncomingHttpHeaders, _flags: number, raw: Array<string>): void => {
    const status = Number(headers[":status"])
    this.headed = true
    if (status < 200 && status !== 100) this.handler?.onResponseStart(this, status, responseFields(raw), "")
  }

  private readonly onHead = (headers: IncomingHttpHeaders, _flags: number, raw: Array<string>): void => {
    const handler = this.handler
    if (handler === undefined) return
    this.headed = true
    this.final = true
    // Waiting for the head is the handler's deadline (`timeouts.request`); from here, silence is a stall.
    this.stream?.setTimeout(this.idleMs)
    handler.onResponseStart(this, Number(headers[":status"]), responseFields(raw), "")
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.final) this.handler?.onResponseData(this, chunk)
  }

  private readonly onTrailers = (_headers: IncomingHttpHeaders, _flags: number, raw: Array<string>): void => {
    this.trailers = raw
  }

  private readonly onEnd = (): void => {
    const handler = this.handler
    if (handler === undefined) return
    if (!this.final) return this.fail(new ConnectionClosed("the backend ended the stream without a response"))
    this.handler = undefined
    this.stream?.setTimeout(0)
    this.detachBody()
    // The response is complete before the request: the rest of the upload is not wanted.
    if (!this.sent) this.stream?.close(constants.NGHTTP2_CANCEL)
    handler.onResponseEnd(this.trailers)
  }

  private readonly onError = (error: Error): void => {
    this.error ??= error
  }

  private readonly onTimeout = (): void => {
    if (this.final) this.fail(new BodyTimeout(`the response body stalled for ${this.idleMs} ms`))
  }

  private readonly onClose = (): void => {
    this.owner?.streamClosed()
    if (this.handler === undefined) return
    const code = this.stream?.rstCode ?? constants.NGHTTP2_NO_ERROR
    this.fail(
      code === constants.NGHTTP2_REFUSED_STREAM && !this.headed
        ? new StreamRefused("the backend refused the stream unprocessed (REFUSED_STREAM or GOAWAY)")
        : this.error ?? new ConnectionClosed(`the backend closed the stream (HTTP/2 error code ${code})`)
    )
  }

  private fail(error: Error): void {
    const handler = this.handler
    if (handler === undefined) return
    this.handler = undefined
    this.detachBody()
    const stream = this.stream
    if (stream !== undefined && !stream.closed) stream.close(constants.NGHTTP2_CANCEL)
    handler.onResponseError(error)
  }
}
