/**
 * The bytes of a request head toward a backend, as one latin1 string written in one go: the
 * request line, the headers as the router rewrote them (`HeaderRules.forwardHeaders`), and the
 * framing the body needs. Header bytes come from Node's parser, which has already refused
 * anything a head may not hold, or from the proxy itself; they are not checked again.
 */
import type { UpstreamRequest } from "../../services/Upstream.ts"

/** Methods whose requests are expected to carry a body: an empty one is announced (RFC 9110 §8.6). */
const expectsBody = (method: string): boolean => method === "POST" || method === "PUT" || method === "PATCH"

export const requestHead = (target: string, request: UpstreamRequest): string => {
  let head = `${request.method} ${target} HTTP/1.1\r\n`
  const headers = request.headers
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  if (request.framing === "chunked") head += "transfer-encoding: chunked\r\n"
  else if (request.framing === "none" && expectsBody(request.method)) head += "content-length: 0\r\n"
  return `${head}\r\n`
}
