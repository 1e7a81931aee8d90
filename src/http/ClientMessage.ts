/**
 * A client's request and response as the exchange drives them, whichever protocol carries them:
 * Node's HTTP/1 `IncomingMessage`/`ServerResponse`, or an HTTP/2 stream through Node's
 * compatibility API (`Http2ServerRequest`/`Http2ServerResponse`), which offers the same methods.
 * What differs between the two is said here, once: a status line's reason phrase and interim
 * responses exist on the wire only in HTTP/1, and an HTTP/2 answer can be trailers only.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import { STATUS_CODES } from "node:http"
import { constants } from "node:http2"
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2"
import type { Writable } from "node:stream"

export type ClientRequest = IncomingMessage | Http2ServerRequest
export type ClientResponse = ServerResponse | Http2ServerResponse

export const isHttp2Response = (response: ClientResponse): response is Http2ServerResponse => "stream" in response

/**
 * Writes a response head, the reason phrase only where HTTP/1 carries one; an HTTP/2 head goes
 * out at once (Node's compatibility API sends it on `writeHead`), an HTTP/1 one with the first
 * body bytes unless `flush` says the body may be long in coming (SSE, long polls).
 */
export const writeResponseHead = (
  response: ClientResponse,
  status: number,
  headers: Array<string>,
  statusMessage = "",
  flush = false
): void => {
  if (isHttp2Response(response)) {
    response.writeHead(status, headers)
    return
  }
  if (statusMessage === "") response.writeHead(status, headers)
  else response.writeHead(status, statusMessage, headers)
  if (flush) response.flushHeaders()
}

/**
 * Whether a closed response reached its client whole. An HTTP/2 stream's writable side counts as
 * finished even when the client reset it, so there the stream's own end decides: closed with
 * NO_ERROR, not reset.
 */
export const responseComplete = (response: ClientResponse): boolean =>
  isHttp2Response(response)
    ? response.stream.rstCode === constants.NGHTTP2_NO_ERROR && !response.stream.aborted
    : response.writableFinished

/** Writes a body chunk; false when the client's buffer is full (wait for `drain`). */
export const writeBody = (response: ClientResponse, chunk: Buffer): boolean => {
  // Both are Writables; TypeScript only cannot call `write` through the union of their overloads.
  const writable: Writable = response
  return writable.write(chunk)
}

/** Flat `[name, value, ...]` pairs as a header object; repeated names become arrays. */
export const headerObject = (flat: ReadonlyArray<string>): OutgoingHttpHeaders => {
  const headers: Record<string, string | Array<string>> = {}
  for (let i = 0; i < flat.length; i += 2) {
    const name = (flat[i] ?? "").toLowerCase()
    const value = flat[i + 1] ?? ""
    const earlier = headers[name]
    headers[name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value]
  }
  return headers
}

/**
 * An interim `102`/`103` before the final response (RFC 9110 §15.2): over HTTP/1.1 written on the
 * socket ahead of Node's own head, over HTTP/2 as a HEADERS frame of its own. An HTTP/1.0 client
 * may not be sent one.
 */
export const writeInterim = (
  request: ClientRequest,
  response: ClientResponse,
  status: number,
  headers: ReadonlyArray<string>
): void => {
  if (isHttp2Response(response)) {
    if (!response.stream.headersSent) response.stream.additionalHeaders({ ...headerObject(headers), ":status": status })
    return
  }
  const socket = response.socket
  if (socket === null || request.httpVersionMajor !== 1 || request.httpVersionMinor < 1) return
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  socket.write(`${head}\r\n`)
}

/**
 * A gRPC answer in one HEADERS frame that ends the stream ("Trailers-Only"): the only form of a
 * gRPC error with no message before it that every gRPC client reads as the call's status.
 */
export const sendTrailersOnly = (
  response: Http2ServerResponse,
  headers: OutgoingHttpHeaders
): void => {
  response.statusCode = 200
  response.stream.respond({ ...headers, ":status": 200 }, { endStream: true })
}
