/**
 * The checks a request must pass before any backend hears of it. Node's parser already refuses
 * bad request lines, bad header bytes, a missing `Host` and most framing conflicts (answered in
 * `ProxyListener`); what it lets through is checked here: a repeated `Host` (Node keeps one),
 * conflicting or malformed `Content-Length`, a body over `maxBodySize`, and request targets that
 * are neither a path nor an absolute URL.
 */
import type { RequestHead } from "./HeaderRules.ts"

export interface Rejection {
  readonly status: 400 | 413
  readonly message: string
}

export interface CheckedRequest {
  /** The path and query to forward, byte-for-byte (the absolute form reduced to them). */
  readonly path: string
  /** The declared body length; `undefined` for a chunked body or none. */
  readonly contentLength: number | undefined
}

const digits = /^\d+$/

/** The `Content-Length` a request declares: a number, `undefined` if none, or a rejection. */
const declaredLength = (head: RequestHead): number | undefined | Rejection => {
  if (head.contentLength === undefined) return undefined
  const values = head.contentLength.split(",").map((value) => value.trim())
  const first = values[0] ?? ""
  if (!digits.test(first) || values.some((value) => value !== first)) {
    return { status: 400, message: "invalid or conflicting Content-Length" }
  }
  return Number(first)
}

/** `http://host/p?q` → `/p?q`, keeping the original bytes; `undefined` when not a usable target. */
export const originForm = (target: string): string | undefined => {
  if (target.startsWith("/")) return target
  const scheme = /^https?:\/\//i.exec(target)
  if (scheme === null) return undefined
  const rest = target.slice(scheme[0].length)
  const slash = rest.search(/[/?]/)
  if (slash === -1) return "/"
  const pathAndQuery = rest.slice(slash)
  return pathAndQuery.startsWith("?") ? `/${pathAndQuery}` : pathAndQuery
}

export const checkRequest = (
  target: string,
  head: RequestHead,
  maxBodySize: number
): CheckedRequest | Rejection => {
  if (head.hostCount > 1) return { status: 400, message: "more than one Host header" }
  if (head.contentLength !== undefined && head.transferEncoding !== undefined) {
    return { status: 400, message: "both Content-Length and Transfer-Encoding" }
  }
  const path = originForm(target)
  if (path === undefined) return { status: 400, message: "the request target must be a path or an absolute http(s) URL" }
  const contentLength = declaredLength(head)
  if (typeof contentLength === "object") return contentLength
  if (contentLength !== undefined && contentLength > maxBodySize) {
    return { status: 413, message: `the request body is larger than ${maxBodySize} bytes` }
  }
  return { path, contentLength }
}

export const isRejection = (result: CheckedRequest | Rejection): result is Rejection => "status" in result
