/**
 * Failures on the data path, what caused them, and the status each one becomes. This is the one
 * place that maps errors to status codes:
 *
 * | failure                      | status | nginx equivalent                          |
 * | ---------------------------- | ------ | ----------------------------------------- |
 * | malformed request            | 400    | 400                                       |
 * | body over `maxBodySize`      | 413    | 413 (`client_max_body_size`)              |
 * | no eligible backend          | 503    | 502 ("no live upstreams"); 503 is clearer |
 * | connect refused / reset      | 502    | 502                                       |
 * | unparsable backend response  | 502    | 502                                       |
 * | connect or response timeout  | 504    | 504                                       |
 *
 * Error bodies are small JSON documents with the request id, so a user can quote it.
 */
import { Predicate } from "effect"
import type { ServerResponse } from "node:http"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import type { RequestOutcome } from "../domain/BackendEvent.ts"

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

const codeOf = (error: Error): string | undefined =>
  Predicate.hasProperty(error, "code") && typeof error.code === "string" ? error.code : undefined

/**
 * What an upstream error says about the backend. `beforeSend` is true when the error came before
 * undici started writing the request (`onRequestStart`): no byte reached the backend, so the
 * connection itself failed.
 */
export const classifyUpstreamError = (error: Error, beforeSend: boolean): RequestOutcome | "body-too-large" => {
  if (error instanceof BodyTooLarge) return "body-too-large"
  if (error instanceof ClientGone) return "aborted"
  if (error instanceof ResponseTimeout) return "timeout"
  if (error instanceof BadFraming) return "bad-response"
  const code = codeOf(error) ?? ""
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
    case "ETIMEDOUT":
      return "timeout"
    case "UND_ERR_ABORTED":
    case "UND_ERR_ABORT":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return "aborted"
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
    case "UND_ERR_HEADERS_OVERFLOW":
    case "UND_ERR_RES_EXCEEDED_MAX_SIZE":
      return "bad-response"
  }
  if (code.startsWith("HPE_")) return "bad-response"
  return beforeSend ? "connect-failed" : "reset"
}

export interface FailureReply {
  readonly status: number
  readonly message: string
}

/** The answers that may ask for a pause with `Retry-After`: a 503, or a 429. */
export const mayAskForPause = (status: number): boolean => status === 503 || status === 429

/**
 * What a backend's complete answer says about it: `overloaded` for a 503, or a 429 that asked for
 * a pause (`Retry-After`); `throttled` for any other 429; `server-error` for other 5xx.
 */
export const responseOutcome = (status: number, askedToWait: boolean): RequestOutcome =>
  status === 503 || (status === 429 && askedToWait)
    ? "overloaded"
    : status === 429
    ? "throttled"
    : status >= 500
    ? "server-error"
    : "success"

/** The answer to a client whose request failed upstream before any response header was sent. */
export const failureReply = (outcome: RequestOutcome | "body-too-large", maxBodySize: number): FailureReply => {
  switch (outcome) {
    case "timeout":
      return { status: 504, message: "the backend did not answer in time" }
    case "body-too-large":
      return { status: 413, message: `the request body is larger than ${maxBodySize} bytes` }
    case "bad-response":
      return { status: 502, message: "the backend sent an invalid response" }
    case "connect-failed":
      return { status: 502, message: "the backend could not be reached" }
    case "aborted":
    case "reset":
    case "server-error":
    case "overloaded":
    case "throttled":
    case "success":
      return { status: 502, message: "the backend closed the connection" }
  }
}

export interface ReplyOptions {
  /** Seconds, for `Retry-After` (503). */
  readonly retryAfter?: number
  /** Close the client connection after the answer (a body we did not read, or draining). */
  readonly close?: boolean
}

const replyBody = (reply: FailureReply, requestId: string): string =>
  JSON.stringify({
    status: reply.status,
    error: (STATUS_CODES[reply.status] ?? "Error").toLowerCase(),
    message: reply.message,
    requestId
  })

/** Writes a proxy-generated answer (JSON body, the request id echoed); returns the body's size. */
export const sendReply = (
  response: ServerResponse,
  reply: FailureReply,
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
  if (options?.close === true) response.shouldKeepAlive = false
  response.writeHead(reply.status, headers)
  response.end(body)
  return bytes
}

/**
 * `sendReply` on a bare socket, then closes it: for upgrade requests, which Node hands over
 * without a `ServerResponse`. Returns the body's size.
 */
export const sendRawReply = (
  socket: Duplex,
  reply: FailureReply,
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
