/**
 * A bare TCP connection that a test writes to whenever it likes, for clients no HTTP library
 * would be: ones that drip a header line at a time, never read what they are sent, or keep
 * sending after their request. It records what arrives and whether the connection is gone.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { connect } from "node:net"
import type { Socket } from "node:net"

export interface RawClient {
  readonly socket: Socket
  readonly write: (bytes: string) => void
  /** Writes `line` every `everyMs` until the connection is gone (or the scope closes). */
  readonly drip: (line: string, everyMs: number) => void
  /** Everything received so far, as latin1 text (nothing, for a client that does not read). */
  readonly received: () => string
  /** True once the connection is closed, by either end or by a reset. */
  readonly closed: () => boolean
}

/** Connects to the proxy on loopback; with `reads: false` the socket is paused and never read. */
export const rawClient = (
  port: number,
  options: { readonly reads?: boolean } = {}
): Effect.Effect<RawClient, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawClient, Error>((resume) => {
      const socket = connect(port, "127.0.0.1")
      const chunks: Array<Buffer> = []
      const timers: Array<NodeJS.Timeout> = []
      let closed = false
      socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      // A peer that closes on a client still writing shows up here as EPIPE or ECONNRESET.
      socket.on("error", () => undefined)
      socket.on("close", () => {
        closed = true
        timers.forEach(clearInterval)
      })
      if (options.reads === false) socket.pause()
      socket.once("connect", () =>
        resume(Effect.succeed({
          socket,
          write: (bytes) => {
            if (!closed) socket.write(bytes, "latin1")
          },
          drip: (line, everyMs) => {
            timers.push(setInterval(() => {
              if (!closed) socket.write(line, "latin1")
            }, everyMs))
          },
          received: () => Buffer.concat(chunks).toString("latin1"),
          closed: () => closed
        })))
      socket.once("error", (error) => resume(Effect.fail(error)))
    }),
    (client) =>
      Effect.sync(() => {
        client.socket.destroy()
      })
  )

/** The status lines in a raw exchange, in order: one per response the client was sent. */
export const statusLines = (raw: string): Array<string> => raw.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? []
