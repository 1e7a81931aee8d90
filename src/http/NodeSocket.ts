/**
 * What Node's HTTP server keeps on a socket it serves, read without trusting it to be there:
 * the response being written (`socket._httpMessage`) and the parser with the message it is
 * reading (`socket.parser.incoming`). They are not public API, yet the listener must know them to
 * answer a parse error without writing into a response in flight (`ProxyListener`) and to know
 * when a refused request can be parsed again (`VersionRescue`). Every reader says "unknown" rather
 * than guess when a field is not what Node 24 has, and its callers then take the cautious path.
 */
import { Predicate } from "effect"
import { EventEmitter } from "node:events"
import type { Duplex } from "node:stream"

/** The response Node is writing on the socket, if any (later pipelined ones wait behind it). */
export const inFlightResponse = (socket: Duplex): EventEmitter | undefined => {
  if (!Predicate.hasProperty(socket, "_httpMessage")) return undefined
  const message = socket._httpMessage
  return message instanceof EventEmitter ? message : undefined
}

/**
 * True only when the socket has carried responses and none is being written now: Node sets
 * `_httpMessage` to `null` between responses. `false` before the first response, and when unknown.
 */
export const betweenResponses = (socket: Duplex): boolean =>
  Predicate.hasProperty(socket, "_httpMessage") && socket._httpMessage === null

/** Node's parser on the socket, while it has one. */
export const parserOf = (socket: Duplex): object | undefined =>
  Predicate.hasProperty(socket, "parser") && Predicate.isObject(socket.parser) ? socket.parser : undefined

/**
 * Whether the message the parser last began is still being read (its body not over): `false` when
 * it is over or there was none, `undefined` when the parser cannot be read.
 */
export const messageOpen = (socket: Duplex): boolean | undefined => {
  const parser = parserOf(socket)
  if (parser === undefined || !Predicate.hasProperty(parser, "incoming")) return undefined
  const incoming = parser.incoming
  if (incoming === null) return false
  return Predicate.hasProperty(incoming, "complete") ? incoming.complete !== true : undefined
}
