/**
 * Failures on the data path as the upstream clients and Node report them: which outcome an upstream
 * error is (`classifyUpstreamError`), the errors the proxy raises itself to cut a request short,
 * and how an answer of the proxy's own is written. Which status an outcome becomes is not chosen
 * here but in the one table, `domain/exchange/Statuses.ts`.
 *
 * Error bodies are small JSON documents with the request id, so a user can quote it.
 */
import { Predicate } from "effect"
import { STATUS_CODES } from "node:http"
import type { Http2ServerResponse } from "node:http2"
import type { Duplex } from "node:stream"
import type { RequestOutcome } from "../domain/BackendEvent.ts"
import { grpcAnswer } from "../domain/exchange/Grpc.ts"
import type { Answer } from "../domain/exchange/Statuses.ts"
import type { ClientResponse } from "./ClientMessage.ts"
import { isHttp2Response, sendTrailersOnly, writeResponseHead } from "./ClientMessage.ts"

/** Raised into the request body stream when a chunked body outgrows `maxBodySize`. */
export class BodyTooLarge extends Error {
  readonly code = "SWITCHYARD_BODY_TOO_LARGE"
}

/** The reason the proxy aborts an upstream response whose framing it will not relay (`HeaderRules`). */
export class BadFraming extends Error {
  readonly code = "SWITCHYARD_BAD_FRAMING"
}

/** The reason the proxy itself aborts an upstream request when its client has gone away. */
export class ClientGone extends Error {
  readonly code = "SWITCHYARD_CLIENT_GONE"
}

/** The reason the proxy aborts an upstream request whose response head is later than `timeouts.request`. */
export class ResponseTimeout extends Error {
  readonly code = "SWITCHYARD_RESPONSE_TIMEOUT"
}

/** No TCP (or TLS) connection to the backend within `timeouts.connect`. */
export class ConnectTimeout extends Error {
  readonly code = "SWITCHYARD_CONNECT_TIMEOUT"
}

/** Nothing arrived from the backend for `timeouts.idle` in the middle of a response body. */
export class BodyTimeout extends Error {
  readonly code = "SWITCHYARD_BODY_TIMEOUT"
}

/** The backend closed the connection before the response was complete (or before it began). */
export class ConnectionClosed extends Error {
  readonly code = "SWITCHYARD_CONNECTION_CLOSED"
}

/**
 * An HTTP/2 backend refused the stream unprocessed: `RST_STREAM REFUSED_STREAM`, or the stream was
 * above the `GOAWAY`'s last stream id. The backend did nothing with the request (RFC 9113 §8.7), so
 * it is an outcome like a failed connect, whatever `beforeSend` says.
 */
export class StreamRefused extends Error {
  readonly code = "SWITCHYARD_STREAM_REFUSED"
}

const codeOf = (error: Error): string | undefined =>
  Predicate.hasProperty(error, "code") && typeof error.code === "string" ? error.code : undefined

/**
 * What an upstream error says about the backend. `beforeSend` is true when the error came before
 * the client started writing the request (`onRequestStart`): no byte reached the backend, so the
 * connection itself failed.
 */
export const classifyUpstreamError = (error: Error, beforeSend: boolean): RequestOutcome | "body-too-large" => {
  if (error instanceof BodyTooLarge) return "body-too-large"
  if (error instanceof ClientGone) return "aborted"
  if (error instanceof ResponseTimeout || error instanceof ConnectTimeout || error instanceof BodyTimeout) {
    return "timeout"
  }
  if (error instanceof BadFraming) return "bad-response"
  if (error instanceof StreamRefused) return "connect-failed"
  const code = codeOf(error) ?? ""
  // llhttp's parse errors: the backend's bytes are not HTTP/1 (header overflow included).
  if (code.startsWith("HPE_")) return "bad-response"
  if (code === "ETIMEDOUT") return "timeout"
  return beforeSend ? "connect-failed" : "reset"
}

export interface ReplyOptions {
  /** Seconds, for `Retry-After` (503). */
  readonly retryAfter?: number
  /** Close the client connection after the answer (a body we did not read, or draining). */
  readonly close?: boolean
}

const replyBody = (reply: Answer, requestId: string): string =>
  JSON.stringify({
    status: reply.status,
    error: (STATUS_CODES[reply.status] ?? "Error").toLowerCase(),
    message: reply.message,
    requestId
  })

/** Writes a proxy-generated answer (JSON body, the request id echoed); returns the body's size. */
export const sendReply = (
  response: ClientResponse,
  reply: Answer,
  requestId: string,
  options?: ReplyOptions
): number => {
  const body = replyBody(reply, requestId)
  const bytes = Buffer.byteLength(body)
  const headers: Array<string> = [
    "content-type",
    "application/json",
    "content-length",
    String(bytes),
    "x-request-id",
    requestId,
    "cache-control",
    "no-store"
  ]
  if (options?.retryAfter !== undefined) headers.push("retry-after", String(options.retryAfter))
  if (options?.close === true && !isHttp2Response(response)) response.shouldKeepAlive = false
  writeResponseHead(response, reply.status, headers)
  response.end(body)
  return bytes
}

/**
 * A proxy-generated answer to a gRPC call: `200` with the gRPC status and message in one
 * trailers-only HEADERS frame (no body), the request id echoed. Returns the gRPC status sent.
 */
export const sendGrpcReply = (response: Http2ServerResponse, reply: Answer, requestId: string): number => {
  const { message, status } = grpcAnswer(reply)
  sendTrailersOnly(response, {
    "content-type": "application/grpc",
    "grpc-status": String(status),
    "grpc-message": message,
    "x-request-id": requestId
  })
  return status
}

/**
 * `sendReply` on a bare socket, then closes it: for upgrade requests, which Node hands over
 * without a `ServerResponse`. Returns the body's size.
 */
export const sendRawReply = (
  socket: Duplex,
  reply: Answer,
  requestId: string,
  options?: Pick<ReplyOptions, "retryAfter">
): number => {
  const body = replyBody(reply, requestId)
  const bytes = Buffer.byteLength(body)
  const retryAfter = options?.retryAfter === undefined ? "" : `Retry-After: ${options.retryAfter}\r\n`
  socket.end(
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ""}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes}\r\nX-Request-Id: ${requestId}\r\nCache-Control: no-store\r\n${retryAfter}` +
      `Connection: close\r\n\r\n${body}`
  )
  return bytes
}
