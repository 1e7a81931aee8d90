/**
 * One proxied request, from the checks to its outcome. The exchange is its own undici handler:
 * response head, body chunks and errors arrive as method calls and go straight to the client's
 * `ServerResponse`, with backpressure both ways (undici pauses reading from the backend while the
 * client's socket is full; it reads the request body as the backend's socket drains).
 *
 * Accounting: `RequestStarted` when a backend is chosen, exactly one `RequestFinished` with the
 * outcome, whatever happens (client gone, error before or after the response head).
 *
 * A pooled connection the backend closed just as we reused it fails before any response byte;
 * such a request is replayed once on a fresh connection when it is safe: no body (so nothing can
 * have been half-processed) and not yet answered. Users never see that race as a 502.
 */
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Transform } from "node:stream"
import type { TransformCallback } from "node:stream"
import type { Dispatcher } from "undici"
import type { Excluded } from "../domain/Availability.ts"
import type { RequestOutcome } from "../domain/BackendEvent.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { RequestFacts } from "../domain/selection/Strategy.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import type { UpstreamShape } from "../services/Upstream.ts"
import { BodyTooLarge, ClientGone, classifyUpstreamError, failureReply, sendReply } from "./Failures.ts"
import { firstForwardedFor, forwardHeaders, plainAddress, responseHeaders, scanRequestHead } from "./HeaderRules.ts"
import type { RequestHead } from "./HeaderRules.ts"
import { checkRequest, isRejection } from "./RequestChecks.ts"

/** Everything an exchange needs from the router, built once. */
export interface ExchangeEnv {
  readonly registry: BackendRegistryShape
  readonly upstream: UpstreamShape
  readonly select: (facts: RequestFacts, excluded: Excluded) => BackendState | undefined
  /** Epoch milliseconds, with sub-millisecond precision, from Effect's `Clock`. */
  readonly now: () => number
  readonly maxBodySize: number
  readonly trustProxy: boolean
  readonly proto: "http" | "https"
  readonly isDraining: () => boolean
  /** For `Retry-After` on a 503: when a backend may plausibly be eligible again. */
  readonly retryAfterSeconds: () => number
}

export const handleRequest = (env: ExchangeEnv, request: IncomingMessage, response: ServerResponse): void => {
  const head = scanRequestHead(request.rawHeaders)
  const requestId = head.requestId ?? randomUUID()
  const checked = checkRequest(request.url ?? "", head, env.maxBodySize)
  if (isRejection(checked)) {
    sendReply(response, checked, requestId, { close: true })
    return
  }
  new ProxyExchange(env, request, response, head, requestId, checked.path, checked.contentLength).start()
}

class ProxyExchange implements Dispatcher.DispatchHandler, RequestFacts {
  readonly clientAddress: string
  readonly path: string
  private readonly env: ExchangeEnv
  private readonly request: IncomingMessage
  private readonly response: ServerResponse
  private readonly requestId: string
  private readonly headers: Array<string>
  private readonly hasBody: boolean
  private readonly chunked: boolean
  private readonly expectContinue: boolean
  private backend: BackendState | undefined
  /** The backend's circuit epoch when it was chosen: the outcome counts for that epoch only. */
  private epoch = 0
  private controller: Dispatcher.DispatchController | undefined
  private startedAt = 0
  private latencyMs = 0
  private status = 0
  /** undici began writing the current attempt: from here on, bytes may have reached the backend. */
  private sent = false
  private responded = false
  private replayed = false
  private finished = false
  private clientGone = false

  constructor(
    env: ExchangeEnv,
    request: IncomingMessage,
    response: ServerResponse,
    head: RequestHead,
    requestId: string,
    path: string,
    contentLength: number | undefined
  ) {
    this.env = env
    this.request = request
    this.response = response
    this.requestId = requestId
    this.path = path
    const peer = plainAddress(request.socket.remoteAddress ?? "")
    this.clientAddress = env.trustProxy ? firstForwardedFor(head.forwardedFor) ?? peer : peer
    this.chunked = head.transferEncoding !== undefined
    this.hasBody = this.chunked || (contentLength !== undefined && contentLength > 0)
    this.expectContinue = head.expectContinue
    this.headers = forwardHeaders(request.rawHeaders, head, {
      clientAddress: peer,
      proto: env.proto,
      generatedRequestId: head.requestId === undefined ? requestId : undefined,
      trustProxy: env.trustProxy
    })
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name]
    return Array.isArray(value) ? value.join(", ") : value
  }

  start(): void {
    this.response.on("close", () => this.onClientClose())
    const backend = this.env.select(this, undefined)
    if (backend === undefined) {
      sendReply(this.response, { status: 503, message: "no backend is available" }, this.requestId, {
        retryAfter: this.env.retryAfterSeconds(),
        close: this.hasBody || this.env.isDraining()
      })
      return
    }
    if (this.expectContinue) this.response.writeContinue()
    this.backend = backend
    this.epoch = backend.epoch
    this.startedAt = this.env.now()
    this.env.registry.emit({ _tag: "RequestStarted", at: this.startedAt, backend: backend.spec.name, epoch: this.epoch })
    this.dispatch(backend)
  }

  private dispatch(backend: BackendState): void {
    this.sent = false
    this.controller = undefined
    this.env.upstream.dispatch(backend.spec, {
      method: this.request.method ?? "GET",
      path: this.path,
      headers: this.headers,
      body: this.hasBody ? this.body() : null
    }, this)
  }

  /** The request body as undici reads it; a chunked body is counted against `maxBodySize`. */
  private body(): IncomingMessage | Transform {
    return this.chunked ? this.request.pipe(new BodyLimit(this.env.maxBodySize)) : this.request
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    this.sent = true
    if (this.clientGone) controller.abort(new ClientGone("the client went away"))
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | Array<string> | undefined>,
    statusMessage?: string
  ): void {
    this.responded = true
    this.status = status
    this.latencyMs = this.env.now() - this.startedAt
    if (this.clientGone) return
    const response = this.response
    if (this.env.isDraining()) response.shouldKeepAlive = false
    const outgoing = responseHeaders(headers, this.requestId)
    if (statusMessage === undefined || statusMessage === "") response.writeHead(status, outgoing)
    else response.writeHead(status, statusMessage, outgoing)
    // A response of unknown length may be a stream (SSE, long poll): let its head go out now
    // rather than with the first chunk, which may be a long time coming.
    if (headers["content-length"] === undefined) response.flushHeaders()
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.clientGone) return
    if (!this.response.write(chunk)) {
      controller.pause()
      this.response.once("drain", () => controller.resume())
    }
  }

  onResponseEnd(): void {
    if (!this.clientGone) this.response.end()
    this.finish(this.status >= 500 ? "server-error" : "success")
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const outcome = this.clientGone ? "aborted" : classifyUpstreamError(error, !this.sent)
    const backend = this.backend
    if (outcome === "reset" && !this.responded && !this.hasBody && !this.replayed && backend !== undefined) {
      this.replayed = true
      // On the next turn: undici is still tearing the dead connection down in this callback, and a
      // request dispatched now could be written to it again.
      setImmediate(() => this.clientGone ? this.finish("aborted") : this.dispatch(backend))
      return
    }
    this.finish(outcome === "body-too-large" ? "aborted" : outcome)
    if (this.clientGone) return
    if (this.response.headersSent) {
      // The status line is gone; cutting the connection is the only way to say the body is incomplete.
      this.response.destroy()
      return
    }
    sendReply(this.response, failureReply(outcome, this.env.maxBodySize), this.requestId, {
      close: this.hasBody || this.env.isDraining()
    })
  }

  private finish(outcome: RequestOutcome): void {
    const backend = this.backend
    if (this.finished || backend === undefined) return
    this.finished = true
    const at = this.env.now()
    this.env.registry.emit({
      _tag: "RequestFinished",
      at,
      backend: backend.spec.name,
      epoch: this.epoch,
      outcome,
      latencyMs: this.responded ? this.latencyMs : at - this.startedAt
    })
  }

  private onClientClose(): void {
    if (this.finished || this.response.writableFinished) return
    this.clientGone = true
    this.controller?.abort(new ClientGone("the client went away"))
  }
}

/** Passes a chunked request body through, failing it once it outgrows the limit. */
class BodyLimit extends Transform {
  private readonly limit: number
  private seen = 0

  constructor(limit: number) {
    super()
    this.limit = limit
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.limit) callback(new BodyTooLarge(`the request body is larger than ${this.limit} bytes`))
    else callback(null, chunk)
  }
}
