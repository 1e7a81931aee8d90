/**
 * The HTTP/1 driver of the attempt rules (`domain/exchange/Attempt.ts`): one proxied request,
 * from admission to its outcome, doing only the I/O. The exchange is its own upstream handler
 * (`UpstreamHandler`): response head, body chunks and errors arrive as method calls and go
 * straight to the client's `ServerResponse`, with backpressure both ways (reading from the backend
 * pauses while the client's socket is full; the request body is read as the backend's socket
 * drains).
 *
 * Which events an attempt emits, when it is replayed, retried or given up, and with which status,
 * are the rules' to say; the exchange reports what the backend did (the request written, the head,
 * the end, an error) and carries out the answer.
 */
import { Transform } from "node:stream"
import type { Readable, TransformCallback } from "node:stream"
import type { RequestOutcome } from "../domain/BackendEvent.ts"
import type { BackendState } from "../domain/BackendState.ts"
import { isCacheableRequest } from "../domain/cache/CachePolicy.ts"
import type { HeaderLookup } from "../domain/cache/CachePolicy.ts"
import type { Attempt, FailureOutcome, RequestTraits } from "../domain/exchange/Attempt.ts"
import {
  afterBackoff,
  afterFailure,
  answerOutcome,
  backendOutcome,
  begin,
  failedAttempt,
  finish,
  mayAskForPause,
  replaying,
  responded,
  sending,
  startedEvent
} from "../domain/exchange/Attempt.ts"
import { grpcAnswer, grpcCodes, grpcTimeoutMs, httpStatusOfGrpc } from "../domain/exchange/Grpc.ts"
import { clientClosedStatus, failureAnswer } from "../domain/exchange/Statuses.ts"
import type { Answer } from "../domain/exchange/Statuses.ts"
import { honouredPauseMs, retryAfterMs } from "../domain/retry/RetryAfter.ts"
import type { Backoff } from "../domain/retry/RetryPolicy.ts"
import type { RequestFacts } from "../domain/selection/Strategy.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import type { CacheFill, ResponseCacheShape } from "../services/ResponseCache.ts"
import type { RetryBudgetShape } from "../services/RetryBudget.ts"
import type { AttemptTrace, RequestTrace, TracingShape } from "../services/Tracing.ts"
import type { UpstreamControl, UpstreamHandler, UpstreamShape } from "../services/Upstream.ts"
import { admit, noBackend, place } from "./Admission.ts"
import type { AdmissionEnv, Admitted, Refusal } from "./Admission.ts"
import { serveFromCache } from "./CacheReplies.ts"
import type { ClientRequest, ClientResponse } from "./ClientMessage.ts"
import {
  headerObject,
  isHttp2Response,
  responseComplete,
  sendTrailersOnly,
  writeBody,
  writeInterim,
  writeResponseHead
} from "./ClientMessage.ts"
import {
  BadFraming,
  BodyTooLarge,
  classifyUpstreamError,
  ClientGone,
  ResponseTimeout,
  sendGrpcReply,
  sendReply
} from "./Failures.ts"
import type { ReplyOptions } from "./Failures.ts"
import {
  forwardHeaders,
  isRelayableTransferEncoding,
  rawHeaderValue,
  relayedTrailers,
  responseHeaders
} from "./HeaderRules.ts"
import type { Reception } from "./Reception.ts"
import type { CheckedRequest } from "./RequestChecks.ts"

/** Everything an exchange needs from the router, built once. */
export interface ExchangeEnv extends AdmissionEnv {
  readonly registry: BackendRegistryShape
  readonly upstream: UpstreamShape
  readonly proto: "http" | "https"
  readonly isDraining: () => boolean
  /** `retry.attempts`: total tries, the first included. */
  readonly maxAttempts: number
  /** A fresh backoff for a request that has failed once (`RetryBackoff`). */
  readonly backoff: () => Backoff
  /** Calls `then` after `ms` on the proxy's clock; returns a canceller. */
  readonly wait: (ms: number, then: () => void) => () => void
  /** Each pool's retry budget: told of every request sent, asked before every retry. */
  readonly retryBudget: RetryBudgetShape
  /** Starts a request's trace; `undefined` when tracing is off. */
  readonly startTrace: TracingShape["startRequest"]
  /** The response cache's lookup; `undefined` without a `cache` section. */
  readonly cache: ResponseCacheShape["lookup"]
}

/** A request the cache could not answer: it says so (`X-Cache: MISS`) and may fill the cache. */
export interface CacheMiss {
  readonly fill: CacheFill | undefined
}

export const handleRequest = (env: ExchangeEnv, request: ClientRequest, response: ClientResponse): void => {
  const admission = admit(env, request)
  if (admission._tag !== "Deferred") return proceed(env, request, response, admission)
  admission.wait((settled) =>
    // The client may have gone while the worker asked for its tokens.
    response.destroyed
      ? settled.reception.answered(clientClosedStatus, 0, undefined)
      : proceed(env, request, response, settled)
  )
}

/**
 * An answer of the proxy's own: JSON, or for a gRPC call its gRPC status (trailers only). Records
 * it unless `record` is false (the exchange records its own when the response closes).
 */
const answer = (
  response: ClientResponse,
  reception: Reception,
  reply: Answer,
  options: ReplyOptions
): { readonly bytes: number; readonly grpcStatus: number | undefined } => {
  if (reception.head.grpc && isHttp2Response(response)) {
    return { bytes: 0, grpcStatus: sendGrpcReply(response, reply, reception.requestId) }
  }
  return { bytes: sendReply(response, reply, reception.requestId, options), grpcStatus: undefined }
}

const proceed = (
  env: ExchangeEnv,
  request: ClientRequest,
  response: ClientResponse,
  admission: Admitted | Refusal
): void => {
  const { answered, requestId } = admission.reception
  if (admission._tag === "Refused") {
    const { retryAfter } = admission
    const sent = answer(response, admission.reception, admission.answer, {
      close: true,
      ...(retryAfter === undefined ? {} : { retryAfter })
    })
    return admission.reception.record({
      status: admission.answer.status,
      backend: undefined,
      bytes: sent.bytes,
      retries: 0,
      cache: undefined,
      grpcStatus: sent.grpcStatus
    })
  }
  const { checked, reception } = admission
  const proxy = (cache: CacheMiss | undefined) =>
    new ProxyExchange(env, request, response, reception, checked, cache).start()
  const method = request.method ?? ""
  const header: HeaderLookup = (name) => request.headers[name]
  if (env.cache === undefined || !isCacheableRequest(method, header)) return proxy(undefined)
  const lookupCache = env.cache
  const step = (): void => {
    const found = lookupCache(method, checked.authority, checked.path, header)
    switch (found._tag) {
      case "Hit":
        return answered(
          found.response.status,
          serveFromCache(response, found.response, found.ageSeconds, requestId, method),
          "HIT"
        )
      case "Fill":
        return proxy({ fill: found.fill })
      case "Bypass":
        return proxy({ fill: undefined })
      case "Wait": {
        const onClose = () => {
          cancel()
          answered(clientClosedStatus, 0, "MISS")
        }
        const cancel = found.wait((passThrough) => {
          response.off("close", onClose)
          if (passThrough) proxy({ fill: undefined })
          else step()
        })
        response.once("close", onClose)
      }
    }
  }
  step()
}

class ProxyExchange implements UpstreamHandler, RequestFacts {
  readonly clientAddress: string
  readonly path: string
  private readonly env: ExchangeEnv
  private readonly request: ClientRequest
  private readonly response: ClientResponse
  private readonly reception: Reception
  private readonly traits: RequestTraits
  private readonly headers: Array<string>
  private readonly chunked: boolean
  private readonly checked: CheckedRequest
  /** The pool the request's route leads to; retries stay in it. */
  private pool = ""
  private readonly trace: RequestTrace | undefined
  private readonly cache: CacheMiss | undefined
  private attemptTrace: AttemptTrace | undefined
  /** Response body bytes sent to the client. */
  private bytes = 0
  /** The body as the upstream client reads it, made once so that a retry after a failed connect can reuse it. */
  private bodyStream: Readable | undefined
  /** The current attempt's backend (its spec, and its policy's honoured `Retry-After`). */
  private backend: BackendState | undefined
  private attempt: Attempt | undefined
  private tried: Set<string> | undefined
  private backoff: Backoff | undefined
  private cancelBackoff: (() => void) | undefined
  private controller: UpstreamControl | undefined
  /** `timeouts.request`, from the request sent in full to its response head (`onRequestSent`). */
  private deadline: ReturnType<typeof setTimeout> | undefined
  private clientGone = false
  /** A gRPC call (always over HTTP/2 here: admission refuses one over HTTP/1). */
  private readonly grpc: boolean
  /** A gRPC call's `grpc-timeout`, from its arrival: the whole call's deadline. */
  private callDeadline: ReturnType<typeof setTimeout> | undefined
  /**
   * A gRPC response head carrying `grpc-status`: held back, because if nothing follows it the
   * client must get it as trailers-only (one frame that ends the stream), not as a head and an
   * empty end, which gRPC clients read as a call without a status.
   */
  private heldHead: Array<string> | undefined
  /** What the client was finally told, when it differs from the wire's status (a gRPC call's outcome). */
  private recorded: { readonly status: number; readonly grpcStatus: number } | undefined

  constructor(
    env: ExchangeEnv,
    request: ClientRequest,
    response: ClientResponse,
    reception: Reception,
    checked: CheckedRequest,
    cache: CacheMiss | undefined
  ) {
    const { head, peer, requestId } = reception
    this.env = env
    this.reception = reception
    this.cache = cache
    this.request = request
    this.response = response
    this.path = checked.path
    this.clientAddress = reception.client
    const contentLength = checked.contentLength
    // An HTTP/2 body needs no Content-Length: its DATA frames are the framing, until END_STREAM.
    const streamBody = "stream" in request && !request.stream.endAfterHeaders && contentLength === undefined
    this.chunked = head.transferEncoding !== undefined || streamBody
    this.grpc = head.grpc
    this.traits = {
      method: request.method ?? "GET",
      hasBody: this.chunked || (contentLength !== undefined && contentLength > 0),
      maxAttempts: env.maxAttempts,
      pooled: true
    }
    this.checked = checked
    this.trace = env.startTrace?.({
      method: request.method ?? "",
      path: checked.path,
      requestId,
      traceparent: head.traceparent
    })
    this.headers = forwardHeaders(request.rawHeaders, head, {
      clientAddress: peer,
      proto: env.proto,
      generatedRequestId: head.requestId === undefined ? requestId : undefined,
      trustProxy: env.trustProxy,
      tracing: this.trace !== undefined,
      host: checked.authority
    })
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name]
    return Array.isArray(value) ? value.join(", ") : value
  }

  start(): void {
    this.response.on("close", () => this.onResponseClose())
    const { backend, pool } = place(this.env, this.checked, this)
    this.pool = pool
    if (backend === undefined) {
      const { answer, retryAfter } = noBackend(this.env, this.pool)
      return this.reply(answer, retryAfter)
    }
    if (this.reception.head.expectContinue) this.response.writeContinue()
    const callMs = this.grpc ? grpcTimeoutMs(this.reception.head.grpcTimeout) : undefined
    if (callMs !== undefined) this.callDeadline = setTimeout(expireCall, callMs, this)
    this.env.retryBudget.sent(this.pool)
    this.begin(backend)
  }

  /**
   * The gRPC call's deadline passed: the client is told `DEADLINE_EXCEEDED` — as trailers-only
   * before any response, else as the trailers ending the response under way — and the backend's
   * stream is cancelled. No retry follows: the caller has stopped waiting.
   */
  expireCall(): void {
    this.callDeadline = undefined
    if (this.clientGone || this.response.writableEnded) return
    const late = { status: 504, message: "the call's grpc-timeout passed" }
    const { message, status } = grpcAnswer(late)
    this.recorded = { status: late.status, grpcStatus: status }
    const response = this.response
    if (isHttp2Response(response)) {
      if (!response.headersSent) sendGrpcReply(response, late, this.reception.requestId)
      else {
        response.addTrailers({ "grpc-status": String(status), "grpc-message": message })
        response.end()
      }
    }
    this.clientGone = true
    this.cancelBackoff?.()
    this.controller?.abort(new ClientGone("the call's grpc-timeout passed"))
  }

  /** Starts an attempt on `backend`. */
  private begin(backend: BackendState): void {
    const attempt = begin(this.attempt, backend.spec.name, backend.epoch, this.env.now())
    this.backend = backend
    this.attempt = attempt
    this.attemptTrace = this.trace?.attempt(attempt.backend, attempt.number)
    this.env.registry.emit(startedEvent(attempt))
    this.dispatch(backend)
  }

  private dispatch(backend: BackendState): void {
    this.controller = undefined
    const traceparent = this.attemptTrace?.traceparent
    this.env.upstream.dispatch(backend.spec, {
      method: this.traits.method,
      path: this.path,
      headers: traceparent === undefined ? this.headers : [...this.headers, "traceparent", traceparent],
      framing: this.chunked ? "chunked" : this.checked.contentLength === undefined ? "none" : "length",
      body: this.traits.hasBody ? this.body() : null,
      trailers: this.reception.head.teTrailers
    }, this)
  }

  /** The request body as the upstream client reads it; a chunked body is counted against `maxBodySize`. */
  private body(): Readable {
    this.bodyStream ??= this.chunked ? this.request.pipe(new BodyLimit(this.env.maxBodySize)) : this.request
    return this.bodyStream
  }

  onRequestStart(controller: UpstreamControl): void {
    this.controller = controller
    if (this.attempt !== undefined) this.attempt = sending(this.attempt)
    if (this.clientGone) controller.abort(new ClientGone("the client went away"))
  }

  /**
   * The request is sent in full: the backend now has `timeouts.request` to answer. The deadline
   * is a Node timer of our own (precise to a few ms). It starts here, not at `begin`: a slow upload is not the backend being slow, and connecting has its own timeout.
   * One timer per attempt, its callback shared by every exchange.
   */
  onRequestSent(): void {
    const attempt = this.attempt
    if (attempt === undefined || attempt.head !== undefined || attempt.finished || this.clientGone) return
    this.deadline = setTimeout(expire, this.env.upstream.requestTimeoutMs, this)
  }

  /** No response head in time: the attempt fails as `timeout` (504, or a retry where allowed). */
  expire(): void {
    this.deadline = undefined
    this.controller?.abort(new ResponseTimeout(`no response head within ${this.env.upstream.requestTimeoutMs} ms`))
  }

  private clearDeadline(): void {
    if (this.deadline === undefined) return
    clearTimeout(this.deadline)
    this.deadline = undefined
  }

  onResponseStart(controller: UpstreamControl, status: number, headers: Array<string>, statusMessage: string): void {
    // A 1xx says the backend is at work (what 102 Processing is for): the final head gets a fresh deadline.
    if (status < 200) {
      this.deadline?.refresh()
      return this.interim(status, headers)
    }
    this.clearDeadline()
    const transferEncoding = rawHeaderValue(headers, "transfer-encoding")
    if (!isRelayableTransferEncoding(transferEncoding)) {
      controller.abort(new BadFraming(`the backend sent Transfer-Encoding: ${String(transferEncoding)}`))
      return
    }
    const attempt = this.attempt
    if (attempt === undefined) return
    const at = this.env.now()
    const waitMs = mayAskForPause(status) ? retryAfterMs(rawHeaderValue(headers, "retry-after"), at) : undefined
    this.attempt = responded(attempt, {
      status,
      at,
      askedToWait: waitMs !== undefined,
      holdMs: honouredPauseMs(waitMs, this.backend?.policy.retryAfterMaxMs)
    })
    if (this.clientGone) return
    const response = this.response
    if (this.env.isDraining() && !isHttp2Response(response)) response.shouldKeepAlive = false
    const outgoing = responseHeaders(headers, this.reception.requestId, status)
    if (this.grpc && rawHeaderValue(headers, "grpc-status") !== undefined) {
      this.heldHead = outgoing
      return
    }
    const cache = this.cache
    if (cache !== undefined) {
      // What is stored is what went out, minus this request's own id.
      cache.fill?.head(
        status,
        statusMessage,
        (name) => rawHeaderValue(headers, name),
        outgoing.slice(0, -2),
        attempt.backend
      )
      outgoing.push("x-cache", "MISS")
    }
    // A response of unknown length may be a stream (SSE, long poll): let its head go out now
    // rather than with the first chunk, which may be a long time coming.
    const flush = transferEncoding !== undefined || rawHeaderValue(headers, "content-length") === undefined
    writeResponseHead(response, status, outgoing, statusMessage, flush)
  }

  /**
   * A `1xx` before the final response. `103 Early Hints` and `102 Processing` are passed on to an
   * HTTP/1.1 client (an HTTP/1.0 one may not be sent any, RFC 9110 §15.2), with the same header
   * rules as a final response; other codes are for this hop alone. The final response follows
   * through `onResponseStart` again. (A `100` is never handed over: see `Http1Connection`.)
   */
  private interim(status: number, headers: Array<string>): void {
    if ((status !== 102 && status !== 103) || this.clientGone || this.response.headersSent) return
    writeInterim(this.request, this.response, status, responseHeaders(headers, this.reception.requestId, status))
  }

  onResponseData(controller: UpstreamControl, chunk: Buffer): void {
    if (this.clientGone) return
    if (this.heldHead !== undefined) {
      writeResponseHead(this.response, this.attempt?.head?.status ?? 200, this.heldHead)
      this.heldHead = undefined
    }
    this.bytes += chunk.length
    this.cache?.fill?.chunk(chunk)
    if (!writeBody(this.response, chunk)) {
      controller.pause()
      this.response.once("drain", () => controller.resume())
    }
  }

  onResponseEnd(trailers: ReadonlyArray<string>): void {
    const held = this.heldHead
    this.heldHead = undefined
    if (!this.clientGone) {
      this.cache?.fill?.end()
      const response = this.response
      if (held !== undefined && isHttp2Response(response)) sendTrailersOnly(response, headerObject(held))
      else {
        if (trailers.length > 0) response.addTrailers(headerObject(relayedTrailers(trailers)))
        response.end()
      }
    }
    const head = this.attempt?.head
    if (head === undefined) return
    if (!this.grpc) return this.close(answerOutcome(head))
    // A call's outcome is its gRPC status, in the trailers or (trailers-only) the head.
    const grpcStatus = rawHeaderValue(trailers, "grpc-status") ?? rawHeaderValue(held ?? [], "grpc-status")
    const status = httpStatusOfGrpc(grpcStatus)
    if (this.recorded === undefined) this.recorded = { status, grpcStatus: Number(grpcStatus ?? grpcCodes.unknown) }
    this.close(answerOutcome({ ...head, status }))
  }

  onResponseError(error: Error): void {
    this.clearDeadline()
    const attempt = this.attempt
    const backend = this.backend
    if (attempt === undefined || backend === undefined) return
    const outcome = this.clientGone ? "aborted" : classifyUpstreamError(error, !attempt.sent)
    const failure = {
      outcome,
      bodyIntact: this.bodyStream === undefined || !this.bodyStream.readableDidRead,
      clientGone: this.clientGone
    }
    const next = afterFailure(this.traits, attempt, failure)
    if (next === "replay") {
      this.attempt = replaying(attempt)
      // On the next turn: the dead connection is still being torn down in this callback.
      setImmediate(() => this.clientGone ? this.close("aborted") : this.dispatch(backend))
      return
    }
    this.close(backendOutcome(outcome))
    switch (next) {
      case "gone":
        return
      case "cut":
        // The status line is gone; cutting the connection is the only way to say the body is incomplete.
        return void this.response.destroy()
      case "answer":
        return this.giveUp(outcome)
      case "backoff": {
        this.backoff ??= this.env.backoff()
        const delay = this.backoff(this.env.now(), failedAttempt(this.traits, attempt, failure))
        if (delay === undefined) return this.giveUp(outcome)
        this.cancelBackoff = this.env.wait(delay, () => this.retry(outcome))
      }
    }
  }

  /** After the backoff: another attempt on a backend not tried yet, if one is selectable. */
  private retry(outcome: FailureOutcome): void {
    this.cancelBackoff = undefined
    if (this.clientGone) return
    const tried = this.tried ?? new Set<string>()
    this.tried = tried
    if (this.attempt !== undefined) tried.add(this.attempt.backend)
    const next = this.env.select(this.pool, this, tried)
    const budget = this.env.retryBudget
    if (afterBackoff(next !== undefined, () => budget.allowRetry(this.pool)) === "retry" && next !== undefined) {
      this.begin(next)
    } else this.giveUp(outcome)
  }

  private giveUp(outcome: FailureOutcome): void {
    if (this.clientGone || this.response.headersSent) return
    this.reply(failureAnswer(outcome, this.env.maxBodySize), undefined)
  }

  /** An answer of the proxy's own; the connection is closed after it when a body went unread. */
  private reply(reply: Answer, retryAfter: number | undefined): void {
    const close = this.traits.hasBody || this.env.isDraining()
    const sent = answer(
      this.response,
      this.reception,
      reply,
      retryAfter === undefined ? { close } : {
        close,
        retryAfter
      }
    )
    this.bytes += sent.bytes
    if (sent.grpcStatus !== undefined) this.recorded = { status: reply.status, grpcStatus: sent.grpcStatus }
  }

  /** The attempt's one `RequestFinished`; nothing when it is out already. */
  private close(outcome: RequestOutcome): void {
    const attempt = this.attempt
    if (attempt === undefined) return
    const closed = finish(attempt, outcome, this.env.now())
    if (closed === undefined) return
    this.attempt = closed.attempt
    this.attemptTrace?.end(outcome, attempt.head?.status)
    this.env.registry.emit(closed.event)
  }

  /** The response is over: sent in full, or cut short because the client went away. */
  private onResponseClose(): void {
    this.cache?.fill?.abandon()
    if (this.callDeadline !== undefined) clearTimeout(this.callDeadline)
    const complete = responseComplete(this.response)
    if (!complete) {
      this.clientGone = true
      this.cancelBackoff?.()
      this.controller?.abort(new ClientGone("the client went away"))
    }
    const recorded = this.recorded
    const status = !complete ? clientClosedStatus : recorded === undefined ? this.response.statusCode : recorded.status
    const attempt = this.attempt
    const backend = attempt?.backend
    const retries = Math.max(0, (attempt?.number ?? 1) - 1)
    const head = attempt?.head
    this.trace?.end({ status, backend, retries })
    this.reception.record({
      status,
      backend,
      bytes: this.bytes,
      retries,
      cache: this.cache === undefined ? undefined : "MISS",
      path: this.path,
      grpcStatus: recorded?.grpcStatus,
      pool: this.pool === "" ? undefined : this.pool,
      upstreamMs: attempt === undefined || head === undefined ? undefined : head.at - attempt.startedAt
    })
  }
}

/** The deadline's callback: one function for every exchange, the exchange passed as its argument. */
const expire = (exchange: ProxyExchange): void => exchange.expire()

const expireCall = (exchange: ProxyExchange): void => exchange.expireCall()

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
