/**
 * Heads between the proxy's flat header lists and HTTP/2's header blocks (`node:http2` takes and
 * gives them as flat `[name, value, ...]` arrays too, repeats kept): the pseudo-headers built for
 * the hop, names lowercased, and the connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2)
 * left out — Node refuses a request carrying any of them.
 */
import type { UpstreamRequest } from "../../services/Upstream.ts"

/** Connection-specific fields: meaningless on a multiplexed connection (`te` is handled apart). */
const connectionSpecific: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings"
])

/**
 * The request's header block: `:method`, `:scheme`, `:path` (the target, already under the
 * backend's prefix), `:authority` from `host` (else `defaultAuthority`, the backend's own), then
 * the other fields lowercased. `te` goes only as `trailers`, the one value HTTP/2 allows, and is
 * added when the client asked for trailers (`request.trailers`).
 */
export const requestHeaderBlock = (
  target: string,
  request: UpstreamRequest,
  scheme: string,
  defaultAuthority: string
): Array<string> => {
  const block = [":method", request.method, ":scheme", scheme, ":path", target, ":authority", defaultAuthority]
  const raw = request.headers
  let authority: string | undefined
  let teSent = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase()
    const value = raw[i + 1] ?? ""
    if (name === "host") authority ??= value
    else if (name === "te") {
      if (!teSent && value.trim().toLowerCase() === "trailers") {
        teSent = true
        block.push("te", "trailers")
      }
    } else if (name.charCodeAt(0) !== 58 /* ":" */ && !connectionSpecific.has(name)) block.push(name, value)
  }
  if (authority !== undefined) block[7] = authority
  if (request.trailers && !teSent) block.push("te", "trailers")
  return block
}

/** A response's (or interim head's) fields without its pseudo-headers (HTTP/2 puts them first), repeats kept. */
export const responseFields = (raw: ReadonlyArray<string>): Array<string> => {
  let start = 0
  while (start < raw.length && (raw[start] ?? "").charCodeAt(0) === 58) start += 2
  return raw.slice(start)
}
