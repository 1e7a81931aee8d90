/**
 * WebSocket and other `Upgrade` requests (RFC 9110 §7.8, RFC 6455 §4). The request goes to a
 * backend chosen as for any request, with the upgrade kept in its head. On `101 Switching
 * Protocols` the two connections are joined and bytes flow both ways untouched, until either side
 * closes or nothing moves either way for `timeouts.idle`. Any other answer is relayed, and the
 * connection closed after it.
 *
 * Node hands an upgrade over as a bare socket (the server's `upgrade` event), without a
 * `ServerResponse`, so it is a driver of its own beside `ProxyExchange`, under the same rules: the
 * same admission (`Admission.ts`: checks, rate limit, routing and selection, eligibility and
 * `maxConnections` included — an open tunnel is a request in flight until it closes), the header
 * rules, and the attempt rules (`domain/exchange/Attempt.ts`): one `RequestStarted` and one
 * `RequestFinished` per tunnel, whose latency runs to the backend's answer. It is not retried on
 * another backend nor replayed: a tunnel is opened once, on a connection of its own. The access log line and request
 * metrics are written at the switch (status 101, duration up to the `101`), so hour-long
 * WebSockets do not pose as slow requests.
 *
 * The backend side is Node's HTTP client on a connection of its own per tunnel: its parser reads
 * the backend's answer, a `101` (handing over the socket and any bytes already read past its
 * head) or a response of any framing to relay. undici's `upgrade()` would turn every answer but a
 * `101` into an error, so a backend's `403` could never reach the client.
 *
 * Bytes the client sends past its head are held until the backend switches (a WebSocket client
 * sends nothing before the `101` anyway): sent earlier, a backend that answers as plain HTTP
 * would read them as a next request. A declared body (`Content-Length`) goes first, as the body;
 * a chunked one is refused (501), since it could only be forwarded by decoding it.
 */
import { request as httpRequest, STATUS_CODES } from "node:http"
import type { ClientRequest, IncomingMessage } from "node:http"
import { connect as netConnect } from "node:net"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { connect as tlsConnect } from "node:tls"
import { pathPrefixOf } from "../domain/Backend.ts"
import type { RequestOutcome } from "../domain/BackendEvent.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { Attempt, FailureOutcome } from "../domain/exchange/Attempt.ts"
import {
  answerOutcome,
  backendOutcome,
  begin,
  finish,
  mayAskForPause,
  responded,
  startedEvent
} from "../domain/exchange/Attempt.ts"
import { clientClosedStatus, failureAnswer, refusalStatusOf } from "../domain/exchange/Statuses.ts"
import type { Answer } from "../domain/exchange/Statuses.ts"
import { honouredPauseMs, retryAfterMs } from "../domain/retry/RetryAfter.ts"
import type { RequestFacts } from "../domain/selection/Strategy.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import { admit, noBackend, place } from "./Admission.ts"
import type { AdmissionEnv, Admitted, Refusal } from "./Admission.ts"
import { classifyUpstreamError, sendRawReply } from "./Failures.ts"
import { forwardUpgradeHeaders, responseHeaders, switchingProtocolsHeaders } from "./HeaderRules.ts"
import type { Reception } from "./Reception.ts"
import { backendAddress, tlsPeer } from "./upstream/BackendAddress.ts"

/** What a tunnel needs from the router: admission's environment, and the timeouts it applies itself. */
export interface TunnelEnv extends AdmissionEnv {
  readonly registry: BackendRegistryShape
  readonly proto: "http" | "https"
  /** Opening the backend connection (TCP, and TLS for an `https` backend). */
  readonly connectTimeoutMs: number
  /** From the connection being open to the backend's answer. */
  readonly requestTimeoutMs: number
  /** Silence both ways after which an open tunnel is closed. */
  readonly idleTimeoutMs: number
}

const ignore = () => undefined

/** `name: value` lines of a flat header list, each ending in CRLF. */
const headerLines = (flat: ReadonlyArray<string>): string => {
  let text = ""
  for (let i = 0; i < flat.length; i += 2) text += `${flat[i]}: ${flat[i + 1]}\r\n`
  return text
}

/** The `upgrade` event's handler: `socket` is the client's connection, `head` what was read past the request head. */
export const handleUpgrade = (env: TunnelEnv, request: IncomingMessage, socket: Duplex, head: Buffer): void => {
  // Node took its own error handler off the socket when it handed it over; an unhandled
  // `error` (a client resetting) would crash the process.
  socket.on("error", ignore)
  const admission = admit(env, request)
  if (admission._tag !== "Deferred") return tunnel(env, request, socket, head, admission)
  admission.wait((settled) =>
    socket.destroyed
      ? settled.reception.answered(clientClosedStatus, 0, undefined)
      : tunnel(env, request, socket, head, settled)
  )
}

const tunnel = (
  env: TunnelEnv,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  admission: Admitted | Refusal
): void => {
  const { answered, client, head: scanned, peer, receivedAt, requestId } = admission.reception
  const refuse = (answer: Answer, retryAfter: number | undefined) =>
    answered(
      answer.status,
      sendRawReply(socket, answer, requestId, retryAfter === undefined ? undefined : { retryAfter }),
      undefined
    )
  if (admission._tag === "Refused") return refuse(admission.answer, admission.retryAfter)
  const checked = admission.checked
  if (scanned.transferEncoding !== undefined) {
    return refuse({
      status: refusalStatusOf("unsupported-coding"),
      message: "an upgrade request cannot have a chunked body"
    }, undefined)
  }
  const facts: RequestFacts = {
    clientAddress: client,
    path: checked.path,
    header: (name) => {
      const value = request.headers[name]
      return Array.isArray(value) ? value.join(", ") : value
    }
  }
  const { backend, pool } = place(env, checked, facts)
  if (backend === undefined) {
    const { answer, retryAfter } = noBackend(env, pool)
    return refuse(answer, retryAfter)
  }
  const headers = forwardUpgradeHeaders(request.rawHeaders, scanned, {
    clientAddress: peer,
    proto: env.proto,
    generatedRequestId: scanned.requestId === undefined ? requestId : undefined,
    trustProxy: env.trustProxy,
    tracing: false,
    host: checked.authority
  })
  new Tunnel(env, request, backend, {
    reception: admission.reception,
    receivedAt,
    requestId,
    path: checked.path,
    bodyLength: checked.contentLength ?? 0,
    headers
  }).open(head)
}

interface TunnelRequest {
  readonly reception: Reception
  readonly receivedAt: number
  readonly requestId: string
  readonly path: string
  readonly bodyLength: number
  /** The head to send upstream. */
  readonly headers: ReadonlyArray<string>
}

/**
 * One upgrade from the backend's choice on: `waiting` for the backend's answer, then `tunnel`
 * (switched) or `relay` (any other answer), until `over`.
 */
class Tunnel {
  private readonly env: TunnelEnv
  private readonly request: IncomingMessage
  private readonly client: Socket
  private readonly backend: BackendState
  private readonly facts: TunnelRequest
  private phase: "waiting" | "tunnel" | "relay" | "over" = "waiting"
  private outgoing: ClientRequest | undefined
  private upstream: Socket | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private connected = false
  /** The tunnel's one attempt, from `open` on. */
  private attempt: Attempt | undefined
  /** Response body bytes relayed to the client. */
  private bytes = 0
  /** Body bytes still to send upstream, as `Content-Length` declared. */
  private bodyLeft: number
  /** What the client sent past its request (and body), held until the backend switches. */
  private held: Buffer = Buffer.alloc(0)
  /** A relayed response reached its end. */
  private relayed = false

  constructor(env: TunnelEnv, request: IncomingMessage, backend: BackendState, facts: TunnelRequest) {
    this.env = env
    this.request = request
    this.client = request.socket
    this.backend = backend
    this.facts = facts
    this.bodyLeft = facts.bodyLength
  }

  open(head: Buffer): void {
    const spec = this.backend.spec
    const attempt = begin(undefined, spec.name, this.backend.epoch, this.env.now())
    this.attempt = attempt
    this.env.registry.emit(startedEvent(attempt))
    const address = backendAddress(spec)
    const upstream = address.secure
      ? tlsConnect({ ...tlsPeer(address), ALPNProtocols: ["http/1.1"] })
      : netConnect({ host: address.host, port: address.port })
    upstream.setNoDelay(true)
    this.upstream = upstream
    this.timer = setTimeout(() => this.fail("timeout"), this.env.connectTimeoutMs)
    upstream.once(address.secure ? "secureConnect" : "connect", () => {
      this.connected = true
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.fail("timeout"), this.env.requestTimeoutMs)
    })
    const outgoing = httpRequest({
      method: this.request.method ?? "GET",
      path: pathPrefixOf(spec) + this.facts.path,
      headers: this.facts.headers,
      createConnection: () => upstream
    })
    this.outgoing = outgoing
    outgoing.on("error", (error) => this.fail(classifyUpstreamError(error, !this.connected)))
    outgoing.on(
      "upgrade",
      (response: IncomingMessage, _socket: Duplex, rest: Buffer) => this.switchOver(response, rest)
    )
    outgoing.on("response", (response: IncomingMessage) => this.relay(response))
    this.client.on("close", () => this.onClientClose())
    this.sendBody(outgoing, head)
  }

  /** Sends the declared body, if any, then ends the request; holds whatever the client sent past it. */
  private sendBody(outgoing: ClientRequest, head: Buffer): void {
    const client = this.client
    const take = (chunk: Buffer): void => {
      const body = chunk.subarray(0, this.bodyLeft)
      this.bodyLeft -= body.length
      this.held = chunk.subarray(body.length)
      if (body.length > 0 && !outgoing.write(body)) {
        client.pause()
        outgoing.once("drain", () => {
          if (this.bodyLeft > 0) client.resume()
        })
      }
      if (this.bodyLeft === 0) {
        // Nothing more is read from the client until the backend switches; the pipe resumes it.
        client.off("data", take)
        client.pause()
        outgoing.end()
      }
    }
    take(head)
    if (this.bodyLeft > 0) client.on("data", take)
  }

  /** `101`: the answer goes to the client, then bytes flow both ways. */
  private switchOver(response: IncomingMessage, rest: Buffer): void {
    const upstream = this.upstream
    if (this.phase !== "waiting" || upstream === undefined) return
    this.phase = "tunnel"
    clearTimeout(this.timer)
    const latencyMs = this.answered(101, undefined)
    const client = this.client
    client.write(
      `HTTP/1.1 101 ${response.statusMessage || "Switching Protocols"}\r\n` +
        `${headerLines(switchingProtocolsHeaders(response.rawHeaders, this.facts.requestId))}\r\n`
    )
    if (rest.length > 0) client.write(rest)
    if (this.held.length > 0) upstream.write(this.held)
    this.held = Buffer.alloc(0)
    this.record(101, 0, latencyMs)
    const close = () => {
      client.destroy()
      upstream.destroy()
    }
    // The client's socket sees every byte, read or written, so its timer measures silence both ways.
    client.setTimeout(this.env.idleTimeoutMs, close)
    upstream.on("error", ignore)
    upstream.on("close", close)
    // Either side ending ends the tunnel once what it sent has been passed on (as nginx does): a
    // half-open tunnel would otherwise wait for the idle timeout on a peer that never ends its side.
    upstream.on("end", () => client.end(close))
    client.on("end", () => upstream.end(close))
    upstream.pipe(client, { end: false })
    client.pipe(upstream, { end: false })
  }

  /** Any answer but `101`: relayed, then the connection closes (its framing is ours from here). */
  private relay(response: IncomingMessage): void {
    if (this.phase !== "waiting") return
    this.phase = "relay"
    clearTimeout(this.timer)
    const status = response.statusCode ?? 502
    // As on any request: a 503's or 429's valid `Retry-After` is the pause the policy may honour.
    this.answered(
      status,
      mayAskForPause(status) ? retryAfterMs(response.headers["retry-after"], this.env.now()) : undefined
    )
    const headers = responseHeaders(response.rawHeaders, this.facts.requestId, status)
    headers.push("Connection", "close")
    const reason = response.statusMessage || STATUS_CODES[status] || ""
    this.client.write(`HTTP/1.1 ${status} ${reason}\r\n${headerLines(headers)}\r\n`)
    response.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length
    })
    response.on("error", ignore)
    response.on("close", () => {
      if (!response.complete) {
        this.finish("reset")
        this.client.destroy()
        return
      }
      this.relayed = true
      const head = this.attempt?.head
      if (head !== undefined) this.finish(answerOutcome(head))
      this.upstream?.destroy()
    })
    response.pipe(this.client)
  }

  /** The backend could not be reached, or did not answer in time: the client gets the failure's status. */
  private fail(outcome: FailureOutcome): void {
    if (this.phase !== "waiting") return
    this.phase = "over"
    clearTimeout(this.timer)
    this.outgoing?.destroy()
    this.upstream?.destroy()
    this.finish(backendOutcome(outcome))
    const reply = failureAnswer(outcome, this.env.maxBodySize)
    this.record(
      reply.status,
      sendRawReply(this.client, reply, this.facts.requestId),
      this.env.now() - this.facts.receivedAt
    )
  }

  private onClientClose(): void {
    const phase = this.phase
    this.phase = "over"
    clearTimeout(this.timer)
    this.upstream?.destroy()
    switch (phase) {
      case "waiting":
        this.outgoing?.destroy()
        this.finish("aborted")
        this.record(clientClosedStatus, 0, this.env.now() - this.facts.receivedAt)
        return
      case "tunnel":
        return this.finish("success")
      case "relay":
        // Unless the response was complete (and `finish` ran), the client left in the middle of it.
        this.finish("aborted")
        return this.record(
          this.relayed ? this.attempt?.head?.status ?? clientClosedStatus : clientClosedStatus,
          this.bytes,
          this.env.now() - this.facts.receivedAt
        )
      case "over":
        return
    }
  }

  /** The backend's answer arrived: its head is the attempt's; returns the latency to it. */
  private answered(status: number, waitMs: number | undefined): number {
    const attempt = this.attempt
    const at = this.env.now()
    if (attempt === undefined) return 0
    this.attempt = responded(attempt, {
      status,
      at,
      askedToWait: waitMs !== undefined,
      holdMs: honouredPauseMs(waitMs, this.backend.policy.retryAfterMaxMs)
    })
    return at - attempt.startedAt
  }

  /** The tunnel's one `RequestFinished`: at its close, or at the failure. */
  private finish(outcome: RequestOutcome): void {
    const closed = this.attempt === undefined ? undefined : finish(this.attempt, outcome, this.env.now())
    if (closed === undefined) return
    this.attempt = closed.attempt
    this.env.registry.emit(closed.event)
  }

  private record(status: number, bytes: number, durationMs: number): void {
    this.facts.reception.record({
      status,
      backend: this.backend.spec.name,
      bytes,
      retries: 0,
      cache: undefined,
      path: this.facts.path,
      durationMs
    })
  }
}
