/**
 * Serving `HTTP/1.2` (any higher HTTP/1 minor version) as HTTP/1.1, as RFC 9110 §2.5 asks: a
 * recipient should process a message of a higher minor version as if it were the highest minor
 * version it supports. Node's parser (llhttp) refuses every version but 0.9, 1.0, 1.1 and 2.0
 * (`HPE_INVALID_VERSION`), and its one way to accept more, `insecureHTTPParser`, also lets
 * through the framing ambiguities request smuggling is made of. So the refused request is served
 * again instead: its first chunk, with the version rewritten to `HTTP/1.1`, goes to a fresh parser
 * that then owns the connection, so the request and everything after it on the connection (its
 * body, keep-alive, further HTTP/1.2 requests) get exactly HTTP/1.1's rules.
 *
 * The bytes can only be replayed when the refused request line is the first thing in the chunk
 * and nothing before the chunk is left half-parsed, else bytes already taken as part of another
 * message would be read again as a new one. That is certain for the first chunk a connection
 * carries (`bytesRead` is the chunk's length), and on a rescued connection (whose chunks the fresh
 * parser reads through `data` events, watched here) for a chunk after one that ended a line while
 * no message was open. Anywhere else (pipelined behind a response in flight, a request line split
 * over reads on a connection never rescued) the rescue declines and the request gets `505`.
 *
 * Detaching Node's parser is `ParserHandoff`'s; if it declines, so does the rescue.
 */
import { Predicate } from "effect"
import type { Server } from "node:http"
import type { Duplex } from "node:stream"
import { betweenResponses, messageOpen, parserOf } from "./NodeSocket.ts"
import { detachParser, http1ConnectionListener } from "./ParserHandoff.ts"

/** The version of a refused request line, and where that line and its minor digit are in the chunk. */
export interface RefusedVersion {
  readonly major: number
  readonly minor: number
  readonly lineStart: number
  readonly minorAt: number
}

// RFC 9112 §3: method SP request-target SP HTTP-version, the version one digit each side of the
// dot. The target is only kept clear of spaces and controls here; the parser that serves a
// rescued request checks it properly.
const requestLine = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [\x21-\x7e\x80-\xff]+ HTTP\/(\d)\.(\d)\r$/

/**
 * The version a refused request line names, when `errorOffset` (the parser's `bytesParsed`) is
 * at the end of a whole, well-formed request line in `chunk`: that is where llhttp stops when it
 * refuses a version. `undefined` when the refusal was about something else (`HTTP/1.10`, a line
 * without its CRLF): a plain `400`.
 */
export const refusedVersion = (chunk: Buffer, errorOffset: number): RefusedVersion | undefined => {
  if (chunk[errorOffset] !== 0x0d || chunk[errorOffset + 1] !== 0x0a) return undefined
  const lineStart = errorOffset === 0 ? 0 : chunk.lastIndexOf(0x0a, errorOffset - 1) + 1
  const match = requestLine.exec(chunk.toString("latin1", lineStart, errorOffset + 1))
  if (match === null) return undefined
  return { major: Number(match[1]), minor: Number(match[2]), lineStart, minorAt: errorOffset - 1 }
}

/** Whether a version is one this listener serves as HTTP/1.1: the same major version, a higher minor. */
export const servedAsHttp11 = (version: RefusedVersion): boolean => version.major === 1 && version.minor > 1

/** The chunk as HTTP/1.1 would have sent it: the minor digit replaced, nothing else touched. */
export const asHttp11 = (chunk: Buffer, version: RefusedVersion): Buffer => {
  const copy = Buffer.from(chunk)
  copy[version.minorAt] = 0x31
  return copy
}

/** A parse error as Node's `clientError` hands it over (`rawPacket` and `bytesParsed` are documented). */
export interface ParseError {
  readonly rawPacket?: unknown
  readonly bytesParsed?: unknown
}

interface Watch {
  lastEndedLine: boolean
  atBoundary: boolean
}

/** Rescued sockets: whether the chunk the parser is reading started where no message was open. */
const watches = new WeakMap<Duplex, Watch>()

// Runs before the parser's own `data` listener, so it judges each chunk before it is parsed.
function watchChunk(this: Duplex, chunk: Buffer): void {
  const watch = watches.get(this)
  // No parser any more: the connection has left HTTP (an upgrade), there is nothing to watch.
  if (watch === undefined || parserOf(this) === undefined) {
    watches.delete(this)
    this.removeListener("data", watchChunk)
    return
  }
  watch.atBoundary = watch.lastEndedLine && messageOpen(this) === false
  watch.lastEndedLine = chunk[chunk.length - 1] === 0x0a
}

const startsAtBoundary = (socket: Duplex, chunk: Buffer): boolean => {
  const watch = watches.get(socket)
  // The connection's first chunk: nothing came before it, so no response is in flight either.
  if (watch === undefined) return Predicate.hasProperty(socket, "bytesRead") && socket.bytesRead === chunk.length
  // A later one on a rescued connection: it began outside any message, and every response is written.
  return watch.atBoundary && betweenResponses(socket)
}

/**
 * Serves the request Node's parser refused for its version as HTTP/1.1, when that is safe (see
 * the module comment). Returns false, having changed nothing, when it is not: the caller answers.
 */
export const rescueAsHttp11 = (server: Server, socket: Duplex, error: ParseError): boolean => {
  const chunk = error.rawPacket
  if (!Buffer.isBuffer(chunk) || typeof error.bytesParsed !== "number") return false
  const version = refusedVersion(chunk, error.bytesParsed)
  if (version === undefined || !servedAsHttp11(version) || version.lineStart !== 0) return false
  if (!startsAtBoundary(socket, chunk)) return false
  const connectionListener = http1ConnectionListener(server)
  if (connectionListener === undefined || !detachParser(server, socket)) return false
  try {
    socket.unshift(asHttp11(chunk, version))
    Reflect.apply(connectionListener, server, [socket])
    if (!watches.has(socket)) {
      watches.set(socket, { lastEndedLine: true, atBoundary: true })
      socket.prependListener("data", watchChunk)
    }
    socket.resume()
  } catch {
    // Half detached, the connection cannot be trusted to either parser: it is closed.
    socket.destroy()
  }
  return true
}
