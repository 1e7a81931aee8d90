/**
 * Taking a connection away from Node's HTTP/1 parser, so that something else can read it from
 * the byte the parser stopped at: a fresh HTTP/1.1 parser (`VersionRescue`) or the HTTP/2 server
 * (prior-knowledge h2c, `Http2Listener`).
 *
 * Detaching is what Node's own upgrade path does (`lib/_http_server.js`, `onParserExecuteCommon`):
 * remove its socket listeners, `freeParser` (which unconsumes the socket and takes the parser off
 * the server's connection list, so the headers-timeout checker forgets it). Those are internals:
 * each is checked before use (the listeners by name, the functions by type, the connection
 * listener by being the one the server hands its connections to), and if any is not as expected
 * nothing is touched and the caller declines.
 */
import { Predicate } from "effect"
import type { Server } from "node:http"
import { createRequire } from "node:module"
import type { Duplex } from "node:stream"
import { parserOf } from "./NodeSocket.ts"

interface NodeInternals {
  readonly freeParser: (parser: object, socket: Duplex) => void
  readonly connectionListener: Function
}

const loadInternals = (): NodeInternals | undefined => {
  try {
    const require = createRequire(import.meta.url)
    const common: unknown = require("_http_common")
    const server: unknown = require("_http_server")
    if (!Predicate.hasProperty(common, "freeParser") || !Predicate.isFunction(common.freeParser)) return undefined
    if (!Predicate.hasProperty(server, "_connectionListener") || !Predicate.isFunction(server._connectionListener)) {
      return undefined
    }
    const freeParser = common.freeParser
    return {
      freeParser: (parser, socket) => Reflect.apply(freeParser, undefined, [parser, null, socket]),
      connectionListener: server._connectionListener
    }
  } catch {
    return undefined
  }
}

const internals = loadInternals()

/** Node's listeners on a socket it parses (`connectionListenerInternal`), by the names they have. */
const parserListeners: ReadonlyArray<readonly [event: string, name: string, required: boolean]> = [
  ["data", "bound socketOnData", true],
  ["end", "bound socketOnEnd", true],
  ["close", "bound socketOnClose", true],
  ["drain", "bound socketOnDrain", true],
  ["timeout", "socketOnTimeout", true],
  // Only while the parser consumes the socket natively; gone once anyone listens for `data`.
  ["resume", "onSocketResume", false],
  ["pause", "onSocketPause", false]
]

const findParserListeners = (socket: Duplex): Array<readonly [string, Function]> | undefined => {
  const found: Array<readonly [string, Function]> = []
  for (const [event, name, required] of parserListeners) {
    const matching = socket.listeners(event).filter((listener) => listener.name === name)
    const listener = matching[0]
    if (matching.length > 1 || (required && listener === undefined)) return undefined
    if (listener !== undefined) found.push([event, listener])
  }
  return found
}

/**
 * Servers whose connections reach Node's HTTP/1 listener through a listener of ours (the TLS
 * listener choosing between HTTP/1.1 and h2 by ALPN): that listener is theirs all the same.
 */
const dispatching = new WeakSet<Server>()

export const dispatchesToHttp1 = (server: Server): void => void dispatching.add(server)

/** Node's HTTP/1 connection listener, when it is the one that serves `server`'s connections. */
export const http1ConnectionListener = (server: Server): Function | undefined => {
  const listener = internals?.connectionListener
  if (listener === undefined) return undefined
  const registered = dispatching.has(server) || server.listeners("connection").includes(listener) ||
    server.listeners("secureConnection").includes(listener)
  return registered ? listener : undefined
}

/**
 * Takes the socket from Node's HTTP/1 parser: true once it is detached (paused: the caller
 * unshifts what must be read again and hands it on) — or destroyed, if detaching failed half-way —
 * false when it could not be, with nothing changed.
 */
export const detachParser = (server: Server, socket: Duplex): boolean => {
  const parser = parserOf(socket)
  const listeners = findParserListeners(socket)
  if (internals === undefined || parser === undefined || listeners === undefined) return false
  if (http1ConnectionListener(server) === undefined) return false
  try {
    for (const [event, listener] of listeners) {
      socket.removeListener(event, listener as (...args: Array<unknown>) => void)
    }
    internals.freeParser(parser, socket)
    // Paused, so that nothing read meanwhile is emitted to no one.
    socket.pause()
  } catch {
    // Half detached, the connection cannot be trusted to either parser: it is closed.
    socket.destroy()
  }
  return true
}
