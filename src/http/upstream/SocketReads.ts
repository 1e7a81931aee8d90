/**
 * How a backend connection's reads reach its response parser, and how they are paused.
 *
 * On a plain TCP socket the parser consumes the socket's native handle (`parser.consume`, as
 * `node:http`'s server does with its clients' sockets): each read is parsed in C++ as it arrives,
 * with no Buffer handed to JavaScript and no `data` event through the stream machinery, about
 * 2.5 µs less per request (docs/performance.md). Nothing is pushed into the socket's stream any
 * more, so two things it did are done here, on Node's private socket internals, as the server
 * does them:
 * - backpressure: `pause`/`resume` stop and restart the handle's reads (`readStop`/`readStart`);
 *   pausing the stream would not reach them;
 * - the idle timer (`socket.setTimeout`): refreshed after every read (`_unrefTimer`), which the
 *   stream's read path did.
 * A TLS socket's handle carries ciphertext, and a socket whose internals are not what this expects
 * (another runtime, a future Node) cannot be consumed: both are read through their `data` events.
 */
import type { Socket } from "node:net"
import { TLSSocket } from "node:tls"
import type { ResponseParser } from "./Llhttp.ts"
import { kOnExecute } from "./Llhttp.ts"

export interface SocketReads {
  readonly pause: () => void
  readonly resume: () => void
  /** The socket has closed: the parser lets go of its handle. */
  readonly release: () => void
}

/** What `net.Socket` keeps of its libuv stream (lib/net.js). */
interface StreamHandle {
  reading: boolean
  readStart(): number
  readStop(): number
}

const isStreamHandle = (handle: unknown): handle is StreamHandle =>
  typeof handle === "object" && handle !== null && "readStart" in handle && "readStop" in handle &&
  "reading" in handle && typeof handle.readStart === "function" && typeof handle.readStop === "function"

/**
 * Starts feeding `socket`'s reads to `parser`, once the socket is connected; `parsed` gets what
 * each read parsed to (bytes, or the parse error).
 */
export const readInto = (
  socket: Socket,
  parser: ResponseParser,
  parsed: (result: number | Error) => void
): SocketReads => {
  const internals: object = socket
  const handle = "_handle" in internals ? internals._handle : undefined
  const unrefTimer = "_unrefTimer" in internals ? internals._unrefTimer : undefined
  if (socket instanceof TLSSocket || !isStreamHandle(handle) || typeof unrefTimer !== "function") {
    socket.on("data", (data: Buffer) => parsed(parser.execute(data)))
    return { pause: () => socket.pause(), resume: () => socket.resume(), release: () => undefined }
  }
  parser[kOnExecute] = (result: number | Error) => {
    unrefTimer.call(socket)
    parsed(result)
  }
  parser.consume(handle)
  return {
    pause: () => {
      if (!handle.reading) return
      handle.reading = false
      handle.readStop()
    },
    resume: () => {
      if (handle.reading || socket.destroyed) return
      handle.reading = true
      handle.readStart()
    },
    release: () => parser.unconsume()
  }
}
