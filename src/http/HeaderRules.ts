/**
 * Which headers cross the proxy, in each direction, and what the proxy adds (RFC 9110 §7.6.1).
 *
 * - Hop-by-hop headers, and every header a `Connection` header names, describe one connection and
 *   never cross.
 * - `Expect` is answered here (Node sends `100 Continue` itself), so it is not passed on.
 * - Toward the backend: `X-Forwarded-For` gets the client appended; `X-Forwarded-Proto` and
 *   `X-Forwarded-Host` are set by us unless `trustProxy` lets an earlier proxy's values through;
 *   `Host` is passed as sent, unless an absolute-form target named another authority, which then
 *   replaces it (RFC 9112 §3.2.2); `X-Request-Id` is added when the client sent none.
 * - A header whose name turns into one of those the proxy removes or sets when `_` is read as
 *   `-` (`Transfer_Encoding`, `Content_Length`, `X_Forwarded_For`) is dropped: CGI-style backends
 *   (WSGI, PHP, Rack) fold `-` and `_` into the same variable, so it would be read as the real one
 *   (nginx drops every such name by default, `underscores_in_headers off`).
 * - Toward the client: the request id is echoed; repeated headers (`Set-Cookie`) stay repeated.
 * - An upgrade (WebSocket, h2c) keeps `Connection: Upgrade` and `Upgrade` both ways: they are what
 *   it asks for and what the backend agrees to.
 *
 * Headers travel as flat `[name, value, name, value, ...]` arrays, the form Node's parser hands
 * over and `writeHead` takes, without building intermediate objects.
 */
const hopByHop: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade"
])

/** Header names listed in `Connection` values, lowercased; `undefined` when there are none. */
export const connectionTokens = (
  value: string | ReadonlyArray<string> | undefined
): ReadonlySet<string> | undefined => {
  if (value === undefined) return undefined
  const tokens = new Set<string>()
  for (const line of typeof value === "string" ? [value] : value) {
    for (const token of line.split(",")) {
      const name = token.trim().toLowerCase()
      if (name !== "") tokens.add(name)
    }
  }
  return tokens
}

/** HTTP/2's pseudo-headers (`:path`, `:authority`…) describe the stream; the proxy rebuilds them per hop. */
const isPseudo = (name: string): boolean => name.charCodeAt(0) === 0x3a

const crosses = (name: string, named: ReadonlySet<string> | undefined): boolean =>
  !hopByHop.has(name) && (named === undefined || !named.has(name)) && !isPseudo(name)

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is written `10.0.0.1`. */
export const plainAddress = (address: string): string => address.startsWith("::ffff:") ? address.slice(7) : address

/**
 * What the proxy needs to know from a request's raw header list, gathered in one pass (Node's
 * `request.headers` object is built lazily; the data path never asks for it).
 */
export interface RequestHead {
  readonly hostCount: number
  readonly host: string | undefined
  /** Every `Content-Length` value, comma-joined when repeated. */
  readonly contentLength: string | undefined
  readonly transferEncoding: string | undefined
  readonly connection: ReadonlySet<string> | undefined
  readonly requestId: string | undefined
  /** The client sent `Expect: 100-continue` and waits for our go-ahead before its body. */
  readonly expectContinue: boolean
  /** The client's W3C trace context, if any. */
  readonly traceparent: string | undefined
  /** All `X-Forwarded-For` values, comma-joined in order. */
  readonly forwardedFor: string | undefined
  readonly forwardedProto: string | undefined
  readonly forwardedHost: string | undefined
  /** `Content-Type` is `application/grpc` (or `+proto`, `+json`…): a gRPC call, which needs HTTP/2 end to end. */
  readonly grpc: boolean
  /** The call's `grpc-timeout`, as sent. */
  readonly grpcTimeout: string | undefined
  /** `TE: trailers`: the client takes trailers (an HTTP/2 backend is told so; gRPC requires it). */
  readonly teTrailers: boolean
}

/** gRPC's content types; `application/grpc-web` is not one (it is built to cross HTTP/1.1). */
const isGrpcContentType = (value: string): boolean => {
  const type = value.toLowerCase()
  if (!type.startsWith("application/grpc")) return false
  const next = type.charCodeAt(16)
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */
}

const join = (earlier: string | undefined, value: string): string =>
  earlier === undefined ? value : `${earlier}, ${value}`

export const scanRequestHead = (raw: ReadonlyArray<string>): RequestHead => {
  let hostCount = 0
  let host: string | undefined
  let contentLength: string | undefined
  let transferEncoding: string | undefined
  let connection: ReadonlySet<string> | undefined
  let requestId: string | undefined
  let expectContinue = false
  let traceparent: string | undefined
  let forwardedFor: string | undefined
  let forwardedProto: string | undefined
  let forwardedHost: string | undefined
  let authority: string | undefined
  let grpc = false
  let grpcTimeout: string | undefined
  let teTrailers = false
  for (let i = 0; i < raw.length; i += 2) {
    const value = raw[i + 1] ?? ""
    switch ((raw[i] ?? "").toLowerCase()) {
      case "host":
        hostCount++
        host ??= value
        break
      case ":authority":
        authority = value
        break
      case "content-type":
        grpc = isGrpcContentType(value)
        break
      case "grpc-timeout":
        grpcTimeout = value
        break
      case "te":
        teTrailers ||= /(?:^|,)\s*trailers\s*(?:[;,]|$)/i.test(value)
        break
      case "content-length":
        contentLength = join(contentLength, value)
        break
      case "transfer-encoding":
        transferEncoding = join(transferEncoding, value)
        break
      case "connection":
        connection = connectionTokens([...(connection ?? []), value])
        break
      case "x-request-id":
        requestId ??= value
        break
      case "expect":
        expectContinue ||= value.toLowerCase() === "100-continue"
        break
      case "traceparent":
        traceparent ??= value
        break
      case "x-forwarded-for":
        forwardedFor = join(forwardedFor, value)
        break
      case "x-forwarded-proto":
        forwardedProto ??= value
        break
      case "x-forwarded-host":
        forwardedHost ??= value
        break
    }
  }
  // HTTP/2's `:authority` is the request's Host (RFC 9113 §8.3.1); a `Host` beside it must name the same.
  if (authority !== undefined) {
    if (host === undefined) hostCount = 1
    else if (host !== authority) hostCount = Math.max(hostCount, 2)
    host ??= authority
  }
  return {
    hostCount,
    host,
    contentLength,
    transferEncoding,
    connection,
    requestId,
    expectContinue,
    traceparent,
    forwardedFor,
    forwardedProto,
    forwardedHost,
    grpc,
    grpcTimeout,
    teTrailers
  }
}

export interface ForwardFacts {
  /** The socket peer, as `plainAddress` writes it. */
  readonly clientAddress: string
  readonly proto: "http" | "https"
  /** Set when the client sent no `X-Request-Id`: the id generated for this request. */
  readonly generatedRequestId: string | undefined
  readonly trustProxy: boolean
  /** The proxy traces requests: each attempt sends its own `traceparent`, not the client's. */
  readonly tracing: boolean
  /** The authority the request is for (`CheckedRequest.authority`): sent as `Host`. */
  readonly host: string | undefined
}

/** Headers the proxy sets itself toward the backend, so the client's copies are not passed as such. */
const rewritten: ReadonlySet<string> = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "expect"])

/** What an underscore spelling must not pass for: framing, hop-by-hop and the proxy's own headers. */
const guarded: ReadonlySet<string> = new Set([
  ...hopByHop,
  ...rewritten,
  "content-length",
  "host",
  "x-request-id"
])

/** `Content_Length` and the like: a name that reads as a guarded one once `_` is `-`. */
export const isLookAlike = (name: string): boolean => name.includes("_") && guarded.has(name.replaceAll("_", "-"))

/** The request headers to send upstream, from the client's raw headers. */
export const forwardHeaders = (
  raw: ReadonlyArray<string>,
  head: RequestHead,
  facts: ForwardFacts
): Array<string> => {
  const out: Array<string> = []
  const host = facts.host
  let hostSent = false
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] ?? ""
    const name = rawName.toLowerCase()
    if (rewritten.has(name) || !crosses(name, head.connection) || isLookAlike(name)) continue
    if (facts.tracing && name === "traceparent") continue
    if (name === "host") {
      hostSent = true
      out.push(rawName, host ?? raw[i + 1] ?? "")
      continue
    }
    out.push(rawName, raw[i + 1] ?? "")
  }
  if (!hostSent && host !== undefined) out.push("host", host)
  out.push("x-forwarded-for", join(head.forwardedFor, facts.clientAddress))
  out.push(
    "x-forwarded-proto",
    facts.trustProxy && head.forwardedProto !== undefined ? head.forwardedProto : facts.proto
  )
  const forwardedHost = facts.trustProxy && head.forwardedHost !== undefined ? head.forwardedHost : host
  if (forwardedHost !== undefined) out.push("x-forwarded-host", forwardedHost)
  if (facts.generatedRequestId !== undefined) out.push("x-request-id", facts.generatedRequestId)
  return out
}

/**
 * The request headers to send upstream for an upgrade (WebSocket, h2c): those of `forwardHeaders`
 * plus the upgrade itself, `Connection: Upgrade` and the client's `Upgrade` lines. Every other
 * header `Connection` names is still dropped, but for `HTTP2-Settings`: h2c requires it to be named
 * there (RFC 7540 §3.2.1), and once the connection switches it runs end to end, so the settings
 * are the backend's to read.
 */
export const forwardUpgradeHeaders = (
  raw: ReadonlyArray<string>,
  head: RequestHead,
  facts: ForwardFacts
): Array<string> => {
  const out = forwardHeaders(raw, head, facts)
  let connection = "Upgrade"
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] ?? ""
    const name = rawName.toLowerCase()
    if (name === "upgrade") out.push(rawName, raw[i + 1] ?? "")
    else if (name === "http2-settings" && head.connection?.has(name) === true) {
      out.push(rawName, raw[i + 1] ?? "")
      connection = "Upgrade, HTTP2-Settings"
    }
  }
  out.push("Connection", connection)
  return out
}

/**
 * A backend's `101 Switching Protocols` headers as the client gets them (raw, case and order
 * kept): hop-by-hop ones dropped as on any response, except the upgrade itself
 * (`Connection: Upgrade`, `Upgrade`); the request id echoed.
 */
export const switchingProtocolsHeaders = (raw: ReadonlyArray<string>, requestId: string): Array<string> => {
  const connection: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] ?? "").toLowerCase() === "connection") connection.push(raw[i + 1] ?? "")
  }
  const named = connectionTokens(connection)
  const out: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] ?? ""
    const name = rawName.toLowerCase()
    if (name === "upgrade" || (name !== "x-request-id" && crosses(name, named))) out.push(rawName, raw[i + 1] ?? "")
  }
  out.push("Connection", "Upgrade", "x-request-id", requestId)
  return out
}

/**
 * A `204` or `304` has no body, whatever its head says (RFC 9110 §15.3.5, §15.4.5): a
 * `Content-Length` on one is either a mistake or the announcement of bytes meant to be read as the
 * next response, so it never reaches the client.
 */
export const isBodiless = (status: number): boolean => status === 204 || status === 304

/**
 * A header's value in a raw `[name, value, ...]` list: repeated lines joined with `, ` (RFC 9110
 * §5.3), `undefined` when absent. `name` is lowercase.
 */
export const rawHeaderValue = (raw: ReadonlyArray<string>, name: string): string | undefined => {
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const each = raw[i] ?? ""
    if (each.length === name.length && each.toLowerCase() === name) value = join(value, raw[i + 1] ?? "")
  }
  return value
}

/**
 * The response headers to send the client, from the backend's raw list (case, order and repeats
 * kept) for a response of `status`.
 */
export const responseHeaders = (raw: ReadonlyArray<string>, requestId: string, status: number): Array<string> => {
  const out: Array<string> = []
  const named = connectionTokens(rawHeaderValue(raw, "connection"))
  const bodiless = isBodiless(status)
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] ?? ""
    const name = rawName.toLowerCase()
    if (name === "x-request-id" || !crosses(name, named) || (bodiless && name === "content-length")) continue
    out.push(rawName, raw[i + 1] ?? "")
  }
  out.push("x-request-id", requestId)
  return out
}

/**
 * A backend's trailers as the client gets them (gRPC's `grpc-status`, `grpc-message` and the
 * service's own): what may not be a trailer — hop-by-hop and framing fields — dropped.
 */
export const relayedTrailers = (raw: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] ?? ""
    const name = rawName.toLowerCase()
    if (!crosses(name, undefined) || name === "content-length" || name === "host") continue
    out.push(rawName, raw[i + 1] ?? "")
  }
  return out
}

/**
 * Whether a response's `Transfer-Encoding` (its lines joined) can be relayed: absent, or
 * `chunked` alone. Chunked applied twice is forbidden (RFC 9112 §7), and any other coding would
 * reach the client de-chunked with nothing left to say how the rest is coded.
 */
export const isRelayableTransferEncoding = (value: string | undefined): boolean =>
  value === undefined || value.trim().toLowerCase() === "chunked"

/**
 * The first `X-Forwarded-For` hop: the original client as an earlier proxy saw it. Only
 * believed when `trustProxy` is set; otherwise anyone could choose their own address.
 */
export const firstForwardedFor = (value: string | ReadonlyArray<string> | undefined): string | undefined => {
  const line = typeof value === "string" ? value : value?.[0]
  const first = line?.split(",")[0]?.trim()
  return first === undefined || first === "" ? undefined : first
}
