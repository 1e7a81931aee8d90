/**
 * The checks a request must pass before any backend hears of it. Node's parser already refuses
 * bad request lines, bad header bytes, a missing `Host` and most framing conflicts (answered in
 * `ProxyListener`); what it lets through is checked here: a repeated or malformed `Host` (Node
 * keeps one, and takes any bytes), conflicting or malformed `Content-Length`, a transfer coding
 * other than `chunked`, a body over `maxBodySize`, and request targets that are neither a path nor
 * an absolute URL, or that carry userinfo or a fragment (`RequestTarget.ts`).
 *
 * Node de-chunks `Transfer-Encoding: gzip, chunked` and would hand over a body that is still
 * gzip-coded with nothing saying so; no backend can be told that once the header is gone, so any
 * coding but a lone `chunked` is `501 Not Implemented`, as nginx answers it.
 */
import { refusalStatusOf } from "../domain/exchange/Statuses.ts"
import type { RequestHead } from "./HeaderRules.ts"
import { isValidAuthority, parseTarget, targetProblemMessage } from "./RequestTarget.ts"

export interface Rejection {
  readonly status: 400 | 413 | 415 | 501
  readonly message: string
}

export interface CheckedRequest {
  /** The path and query to forward, byte-for-byte (the absolute form reduced to them). */
  readonly path: string
  /**
   * The host the request is for: the absolute-form target's authority, else the `Host` header.
   * It is what is routed on and what the backend is sent as `Host`.
   */
  readonly authority: string | undefined
  /** The declared body length; `undefined` for a chunked body or none. */
  readonly contentLength: number | undefined
}

const digits = /^\d+$/
const malformed = refusalStatusOf("malformed")

/** The `Content-Length` a request declares: a number, `undefined` if none, or a rejection. */
const declaredLength = (head: RequestHead): number | undefined | Rejection => {
  if (head.contentLength === undefined) return undefined
  const values = head.contentLength.split(",").map((value) => value.trim())
  const first = values[0] ?? ""
  if (!digits.test(first) || values.some((value) => value !== first)) {
    return { status: malformed, message: "invalid or conflicting Content-Length" }
  }
  return Number(first)
}

/** Whether a `Transfer-Encoding` value is exactly the one coding the proxy can pass on. */
const isChunkedOnly = (value: string): boolean => value.trim().toLowerCase() === "chunked"

/**
 * gRPC needs trailers and full-duplex streams, which the proxy relays only over HTTP/2; over
 * HTTP/1.x the call is refused with a status a human can read rather than failing obscurely.
 */
const grpcOverHttp1: Rejection = {
  status: refusalStatusOf("grpc-needs-http2"),
  message: "gRPC needs HTTP/2: connect with h2 (TLS, ALPN) or h2c (prior knowledge, when server.h2c is on)"
}

export const checkRequest = (
  target: string,
  head: RequestHead,
  maxBodySize: number,
  httpMajor: number
): CheckedRequest | Rejection => {
  if (head.grpc && httpMajor < 2) return grpcOverHttp1
  if (head.hostCount > 1) return { status: malformed, message: "more than one Host header" }
  if (head.host !== undefined && !isValidAuthority(head.host)) {
    return { status: malformed, message: "the Host header is not a valid host[:port]" }
  }
  if (head.contentLength !== undefined && head.transferEncoding !== undefined) {
    return { status: malformed, message: "both Content-Length and Transfer-Encoding" }
  }
  if (head.transferEncoding !== undefined && !isChunkedOnly(head.transferEncoding)) {
    return { status: refusalStatusOf("unsupported-coding"), message: "no transfer coding but chunked is supported" }
  }
  const parsed = parseTarget(target)
  if (typeof parsed === "string") return { status: malformed, message: targetProblemMessage(parsed) }
  const contentLength = declaredLength(head)
  if (typeof contentLength === "object") return contentLength
  if (contentLength !== undefined && contentLength > maxBodySize) {
    return {
      status: refusalStatusOf("body-too-large"),
      message: `the request body is larger than ${maxBodySize} bytes`
    }
  }
  return { path: parsed.path, authority: parsed.authority ?? head.host, contentLength }
}

export const isRejection = (result: CheckedRequest | Rejection): result is Rejection => "status" in result
