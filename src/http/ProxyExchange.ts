/**
 * One proxied request, from the checks to its outcome. The exchange is its own undici handler:
 * response head, body chunks and errors arrive as method calls and go straight to the client's
 * `ServerResponse`, with backpressure both ways (undici pauses reading from the backend while the
 * client's socket is full; it reads the request body as the backend's socket drains).
 *
 * Attempts: each backend tried is one attempt, with its own `RequestStarted` and exactly one
 * `RequestFinished`, whatever happens (client gone, error before or after the response head).
 * A failed attempt is retried on a backend not tried yet when `RetryPolicy` allows it, after the
 * backoff its `Schedule` gives; otherwise the client gets the failure's status.
 *
 * A pooled connection the backend closed just as we reused it fails before any response byte.
 * Such an attempt is replayed once on a fresh connection to the same backend, without backoff,
 * when it has no body and an idempotent method: it is our connection reuse that failed, not the
 * backend. Any other request may have been processed, so it is never sent twice (`Upstream` makes
 * the race unlikely for those: they go out only on connections used within the last second).
 */
import { STATUS_CODES } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Transform } from "node:stream"
import type { Readable, TransformCallback } from "node:stream"
import type { Dispatcher } from "undici"
import type { Excluded } from "../domain/Availability.ts"
import { isCacheableRequest } from "../domain/cache/CachePolicy.ts"
import type { HeaderLookup } from "../domain/cache/CachePolicy.ts"
import type { RequestOutcome } from "../domain/BackendEvent.ts"
import { clientClosedStatus } from "../domain/RequestRecord.ts"
import type { BackendState } from "../domain/BackendState.ts"
import { honouredPauseMs, retryAfterMs } from "../domain/retry/RetryAfter.ts"
import { isIdempotent } from "../domain/retry/RetryPolicy.ts"
import type { FailedAttempt } from "../domain/retry/RetryPolicy.ts"
import type { RequestFacts } from "../domain/selection/Strategy.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import type { RateLimiterShape } from "../services/RateLimiter.ts"
import type { RetryBudgetShape } from "../services/RetryBudget.ts"
import type { CacheFill, ResponseCacheShape } from "../services/ResponseCache.ts"
import type { AttemptTrace, RequestTrace, TracingShape } from "../services/Tracing.ts"
import type { UpstreamShape } from "../services/Upstream.ts"
import { BadFraming, BodyTooLarge, ClientGone, classifyUpstreamError, ResponseTimeout, failureReply, mayAskForPause, responseOutcome, sendReply } from "./Failures.ts"
import { forwardHeaders, isRelayableTransferEncoding, responseHeaders } from "./HeaderRules.ts"
import type { RequestHead } from "./HeaderRules.ts"
import { serveFromCache } from "./CacheReplies.ts"
import { receive } from "./Reception.ts"
import type { ReceptionEnv } from "./Reception.ts"
import { checkRequest, isRejection } from "./RequestChecks.ts"

/** The backoff between attempts of one request, driven by the retry `Schedule`. */
export interface Backoff {
  /**
   * Waits the delay the schedule gives for `attempt`, then calls `retry`; calls `giveUp` at once
   * when the schedule stops (not retriable, or no retries left). Returns a canceller.
   */
  readonly next: (attempt: FailedAttempt, retry: () => void, giveUp: () => void) => () => void
}

/** Everything an exchange needs from the router, built once. */
export interface ExchangeEnv extends ReceptionEnv {
  readonly registry: BackendRegistryShape
  readonly upstream: UpstreamShape
  /** The pool a request goes to, from its `Host` and target. */
  readonly route: (host: string | undefined, target: string) => string
  readonly select: (pool: string, facts: RequestFacts, excluded: Excluded) => BackendState | undefined
  readonly maxBodySize: number
  readonly proto: "http" | "https"
  readonly isDraining: () => boolean
  /** For `Retry-After` on a 503: when a backend of the pool may plausibly be eligible again. */
  readonly retryAfterSeconds: (pool: string) => number
  /** A fresh backoff for a request that has failed once. */
  readonly backoff: () => Backoff
  /** Each pool's retry budget: told of every request sent, asked before every retry. */
  readonly retryBudget: RetryBudgetShape
  /** Starts a request's trace; `undefined` when tracing is off. */
  readonly startTrace: TracingShape["startRequest"]
  /** Whether the client may send another request now (`rateLimit`). */
  readonly admit: RateLimiterShape["admit"]
  /** The response cache's lookup; `undefined` without a `cache` section. */
  readonly cache: ResponseCacheShape["lookup"]
}

/** What is known of a request once it passed the checks. */
export interface Arrival {
  readonly head: RequestHead
  readonly requestId: string
  /** The client as `trustProxy` decides it, and the socket peer. */
  readonly client: string
  readonly peer: string
  readonly receivedAt: number
  /** The target to forward (the absolute form reduced to path and query). */
  readonly path: string
  /** The host the request is for (`CheckedRequest.authority`): routed on, sent as `Host`. */
  readonly authority: string | undefined
  readonly contentLength: number | undefined
}

/** A request the cache could not answer: it says so (`X-Cache: MISS`) and may fill the cache. */
export interface CacheMiss {
  readonly fill: CacheFill | undefined
}

export const handleRequest = (env: ExchangeEnv, request: IncomingMessage, response: ServerResponse): void => {
  const { answered, client, head, peer, receivedAt, requestId } = receive(env, request)
  const refuse = (status: number, message: string, retryAfter: number | undefined) =>
    answered(
      status,
      sendReply(response, { status, message }, requestId, { close: true, ...(retryAfter === undefined ? {} : { retryAfter }) }),
      undefined
    )
  const checked = checkRequest(request.url ?? "", head, env.maxBodySize)
  if (isRejection(checked)) return refuse(checked.status, checked.message, undefined)
  const admission = env.admit(client)
  if (!admission.allowed) return refuse(429, "too many requests from this client", admission.retryAfterSeconds)
  const arrival: Arrival = {
    head,
    requestId,
    client,
    peer,
    receivedAt,
    path: checked.path,
    authority: checked.authority,
    contentLength: checked.contentLength
  }
  const proxy = (cache: CacheMiss | undefined) => new ProxyExchange(env, request, response, arrival, cache).start()
  const method = request.method ?? ""
  const header: HeaderLookup = (name) => request.headers[name]
  if (env.cache === undefined || !isCacheableRequest(method, header)) return proxy(undefined)
  const lookupCache = env.cache
  const step = (): void => {
    const found = lookupCache(method, checked.authority, checked.path, header)
    switch (found._tag) {
      case "Hit":
        return answered(found.response.status, serveFromCache(response, found.response, found.ageSeconds, requestId, method), "HIT")
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
  /** The pool the request's route leads to; retries stay in it. */
  private readonly pool: string
  private readonly receivedAt: number
  private readonly trace: RequestTrace | undefined
  private readonly cache: CacheMiss | undefined
  private attemptTrace: AttemptTrace | undefined
  /** Response body bytes sent to the client. */
  private bytes = 0
  /** The body as undici reads it, made once so that a retry after a failed connect can reuse it. */
  private bodyStream: Readable | undefined
  /** The current attempt's backend, and its circuit epoch when it was chosen. */
  private backend: BackendState | undefined
  private epoch = 0
  private attempt = 0
  private tried: Set<string> | undefined
  private backoff: Backoff | undefined
  private cancelBackoff: (() => void) | undefined
  private controller: Dispatcher.DispatchController | undefined
  /** `timeouts.request`, from the request sent in full to its response head (`onRequestSent`). */
  private deadline: ReturnType<typeof setTimeout> | undefined
  private startedAt = 0
  private latencyMs = 0
  private status = 0
  /** The backend's 503 or 429 carried a valid `Retry-After`. */
  private askedToWait = false
  /** How long an overloaded backend asked to be left alone, when its policy honours that. */
  private holdMs: number | undefined = undefined
  /** undici began writing the current attempt: from here on, bytes may have reached the backend. */
  private sent = false
  private responded = false
  private replayed = false
  /** The current attempt is started and its `RequestFinished` not yet emitted. */
  private attemptOpen = false
  private clientGone = false

  constructor(
    env: ExchangeEnv,
    request: IncomingMessage,
    response: ServerResponse,
    arrival: Arrival,
    cache: CacheMiss | undefined
  ) {
    const { authority, client, contentLength, head, path, peer, receivedAt, requestId } = arrival
    this.env = env
    this.receivedAt = receivedAt
    this.cache = cache
    this.request = request
    this.response = response
    this.requestId = requestId
    this.path = path
    this.clientAddress = client
    this.pool = env.route(authority, path)
    this.chunked = head.transferEncoding !== undefined
    this.hasBody = this.chunked || (contentLength !== undefined && contentLength > 0)
    this.expectContinue = head.expectContinue
    this.trace = env.startTrace?.({
      method: request.method ?? "",
      path,
      requestId,
      traceparent: head.traceparent
    })
    this.headers = forwardHeaders(request.rawHeaders, head, {
      clientAddress: peer,
      proto: env.proto,
      generatedRequestId: head.requestId === undefined ? requestId : undefined,
      trustProxy: env.trustProxy,
      tracing: this.trace !== undefined,
      host: authority
    })
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name]
    return Array.isArray(value) ? value.join(", ") : value
  }

  start(): void {
    this.response.on("close", () => this.onResponseClose())
    const backend = this.env.select(this.pool, this, undefined)
    if (backend === undefined) {
      this.bytes += sendReply(this.response, { status: 503, message: "no backend is available" }, this.requestId, {
        retryAfter: this.env.retryAfterSeconds(this.pool),
        close: this.hasBody || this.env.isDraining()
      })
      return
    }
    if (this.expectContinue) this.response.writeContinue()
    this.env.retryBudget.sent(this.pool)
    this.begin(backend)
  }

  /** Starts an attempt on `backend`. */
  private begin(backend: BackendState): void {
    this.backend = backend
    this.epoch = backend.epoch
    this.attempt++
    this.replayed = false
    this.askedToWait = false
    this.holdMs = undefined
    this.attemptOpen = true
    this.startedAt = this.env.now()
    this.attemptTrace = this.trace?.attempt(backend.spec.name, this.attempt)
    this.env.registry.emit({
      _tag: "RequestStarted",
      at: this.startedAt,
      backend: backend.spec.name,
      epoch: this.epoch,
      attempt: this.attempt
    })
    this.dispatch(backend)
  }

  private dispatch(backend: BackendState): void {
    this.sent = false
    this.controller = undefined
    const traceparent = this.attemptTrace?.traceparent
    this.env.upstream.dispatch(backend.spec, {
      method: this.request.method ?? "GET",
      path: this.path,
      headers: traceparent === undefined ? this.headers : [...this.headers, "traceparent", traceparent],
      body: this.hasBody ? this.body() : null
    }, this)
  }

  /** The request body as undici reads it; a chunked body is counted against `maxBodySize`. */
  private body(): Readable {
    this.bodyStream ??= this.chunked ? this.request.pipe(new BodyLimit(this.env.maxBodySize)) : this.request
    return this.bodyStream
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    this.sent = true
    if (this.clientGone) controller.abort(new ClientGone("the client went away"))
  }

  /**
   * The request is sent in full: the backend now has `timeouts.request` to answer. The deadline
   * is a Node timer of our own (precise to a few ms), not undici's `headersTimeout` (its timers
   * tick every ~500 ms, so 2 s fired at 2.0-2.5 s, many requests at once). It starts here, not
   * at `begin`: a slow upload is not the backend being slow, and connecting has its own timeout.
   * One timer per attempt, its callback shared by every exchange.
   */
  onRequestSent(): void {
    if (this.responded || this.clientGone || !this.attemptOpen) return
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

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | Array<string> | undefined>,
    statusMessage?: string
  ): void {
    // A 1xx says the backend is at work (what 102 Processing is for): the final head gets a fresh deadline.
    if (status < 200) this.deadline?.refresh()
    else this.clearDeadline()
    if (status < 200) return this.interim(status, headers)
    if (!isRelayableTransferEncoding(headers["transfer-encoding"])) {
      controller.abort(new BadFraming(`the backend sent Transfer-Encoding: ${String(headers["transfer-encoding"])}`))
      return
    }
    this.responded = true
    this.status = status
    this.latencyMs = this.env.now() - this.startedAt
    if (mayAskForPause(status)) this.notePause(headers["retry-after"])
    if (this.clientGone) return
    const response = this.response
    if (this.env.isDraining()) response.shouldKeepAlive = false
    const outgoing = responseHeaders(headers, this.requestId, status)
    const cache = this.cache
    if (cache !== undefined) {
      // What is stored is what went out, minus this request's own id.
      cache.fill?.head(status, statusMessage, (name) => headers[name], outgoing.slice(0, -2), this.backend?.spec.name ?? "")
      outgoing.push("x-cache", "MISS")
    }
    if (statusMessage === undefined || statusMessage === "") response.writeHead(status, outgoing)
    else response.writeHead(status, statusMessage, outgoing)
    // A response of unknown length may be a stream (SSE, long poll): let its head go out now
    // rather than with the first chunk, which may be a long time coming.
    if (headers["content-length"] === undefined) response.flushHeaders()
  }

  /**
   * A `1xx` before the final response. `103 Early Hints` and `102 Processing` are passed on to an
   * HTTP/1.1 client (an HTTP/1.0 one may not be sent any, RFC 9110 §15.2), with the same header
   * rules as a final response; other codes are for this hop alone. The final response follows
   * through `onResponseStart` again. (undici never hands over a `100`: see `UpstreamLive`.)
   */
  private interim(status: number, headers: Record<string, string | Array<string> | undefined>): void {
    const response = this.response
    const socket = response.socket
    if ((status !== 102 && status !== 103) || this.clientGone || response.headersSent || socket === null) return
    if (this.request.httpVersionMajor !== 1 || this.request.httpVersionMinor < 1) return
    const lines = responseHeaders(headers, this.requestId, status)
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`
    for (let i = 0; i < lines.length; i += 2) head += `${lines[i]}: ${lines[i + 1]}\r\n`
    socket.write(`${head}\r\n`)
  }

  /** A 503's or 429's `Retry-After`: the pause the backend asks for, which the policy may honour. */
  private notePause(retryAfter: string | Array<string> | undefined): void {
    const waitMs = retryAfterMs(retryAfter, this.env.now())
    if (waitMs === undefined) return
    this.askedToWait = true
    this.holdMs = honouredPauseMs(waitMs, this.backend?.policy.retryAfterMaxMs)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.clientGone) return
    this.bytes += chunk.length
    this.cache?.fill?.chunk(chunk)
    if (!this.response.write(chunk)) {
      controller.pause()
      this.response.once("drain", () => controller.resume())
    }
  }

  onResponseEnd(): void {
    if (!this.clientGone) {
      this.cache?.fill?.end()
      this.response.end()
    }
    this.endAttempt(responseOutcome(this.status, this.askedToWait))
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.clearDeadline()
    const outcome = this.clientGone ? "aborted" : classifyUpstreamError(error, !this.sent)
    const backend = this.backend
    if (
      outcome === "reset" && !this.responded && !this.hasBody && !this.replayed && backend !== undefined &&
      isIdempotent(this.request.method ?? "GET")
    ) {
      this.replayed = true
      // On the next turn: undici is still tearing the dead connection down in this callback, and a
      // request dispatched now could be written to it again.
      setImmediate(() => this.clientGone ? this.endAttempt("aborted") : this.dispatch(backend))
      return
    }
    this.endAttempt(outcome === "body-too-large" ? "aborted" : outcome)
    if (this.clientGone) return
    if (this.response.headersSent) {
      // The status line is gone; cutting the connection is the only way to say the body is incomplete.
      this.response.destroy()
      return
    }
    const failed: FailedAttempt = {
      method: this.request.method ?? "GET",
      outcome,
      hasBody: this.hasBody,
      sent: this.sent,
      bodyIntact: this.bodyStream === undefined || !this.bodyStream.readableDidRead,
      responded: this.responded
    }
    this.backoff ??= this.env.backoff()
    this.cancelBackoff = this.backoff.next(failed, () => this.retry(outcome), () => this.giveUp(outcome))
  }

  /** After the backoff: another attempt on a backend not tried yet, if one is selectable. */
  private retry(outcome: RequestOutcome | "body-too-large"): void {
    this.cancelBackoff = undefined
    if (this.clientGone) return
    const tried = this.tried ?? new Set<string>()
    this.tried = tried
    if (this.backend !== undefined) tried.add(this.backend.spec.name)
    const next = this.env.select(this.pool, this, tried)
    if (next === undefined || !this.env.retryBudget.allowRetry(this.pool)) this.giveUp(outcome)
    else this.begin(next)
  }

  private giveUp(outcome: RequestOutcome | "body-too-large"): void {
    this.cancelBackoff = undefined
    if (this.clientGone || this.response.headersSent) return
    this.bytes += sendReply(this.response, failureReply(outcome, this.env.maxBodySize), this.requestId, {
      close: this.hasBody || this.env.isDraining()
    })
  }

  private endAttempt(outcome: RequestOutcome): void {
    const backend = this.backend
    if (!this.attemptOpen || backend === undefined) return
    this.attemptOpen = false
    this.attemptTrace?.end(outcome, this.responded ? this.status : undefined)
    const at = this.env.now()
    const latencyMs = this.responded ? this.latencyMs : at - this.startedAt
    const name = backend.spec.name
    const retryAfterMs = this.holdMs
    // Two literals rather than a spread: this runs for every request.
    this.env.registry.emit(
      retryAfterMs === undefined
        ? { _tag: "RequestFinished", at, backend: name, epoch: this.epoch, outcome, latencyMs }
        : { _tag: "RequestFinished", at, backend: name, epoch: this.epoch, outcome, latencyMs, retryAfterMs }
    )
  }

  /** The response is over: sent in full, or cut short because the client went away. */
  private onResponseClose(): void {
    this.cache?.fill?.abandon()
    const complete = this.response.writableFinished
    if (!complete) {
      this.clientGone = true
      this.cancelBackoff?.()
      this.controller?.abort(new ClientGone("the client went away"))
    }
    const status = complete ? this.response.statusCode : clientClosedStatus
    const backend = this.backend?.spec.name
    const retries = Math.max(0, this.attempt - 1)
    this.trace?.end({ status, backend, retries })
    this.env.completed({
      at: this.receivedAt,
      requestId: this.requestId,
      client: this.clientAddress,
      method: this.request.method ?? "",
      path: this.path,
      status,
      backend,
      durationMs: this.env.now() - this.receivedAt,
      bytes: this.bytes,
      retries,
      cache: this.cache === undefined ? undefined : "MISS"
    })
  }
}

/** The deadline's callback: one function for every exchange, the exchange passed as its argument. */
const expire = (exchange: ProxyExchange): void => exchange.expire()

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
