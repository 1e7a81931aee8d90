/**
 * HTTP clients for tests: `send` through `node:http` (no pooling, so every test controls its own
 * connections) and `sendRaw` over a bare socket, for requests no well-behaved client would send.
 */
import { Effect } from "effect"
import { request as httpRequest } from "node:http"
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http"
import { connect } from "node:net"
import type { Readable } from "node:stream"

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: ReadonlyArray<string>
  readonly body: Buffer
  readonly text: string
}

export interface SendOptions {
  readonly method?: string
  readonly path?: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer | Readable
  readonly localAddress?: string
}

export const send = (baseUrl: string, options: SendOptions = {}): Effect.Effect<Reply, Error> =>
  Effect.callback<Reply, Error>((resume) => {
    const url = new URL(baseUrl)
    const request = httpRequest({
      host: url.hostname,
      port: url.port,
      method: options.method ?? "GET",
      path: options.path ?? "/",
      headers: options.headers,
      agent: false,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
    }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => {
        const body = Buffer.concat(chunks)
        resume(Effect.succeed({
          status: response.statusCode ?? 0,
          headers: response.headers,
          rawHeaders: response.rawHeaders,
          body,
          text: body.toString("utf8")
        }))
      })
      response.on("error", (error) => resume(Effect.fail(error)))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    const body = options.body
    if (body === undefined) request.end()
    else if (typeof body === "string" || Buffer.isBuffer(body)) request.end(body)
    else body.pipe(request)
    return Effect.sync(() => request.destroy())
  })

/**
 * Writes `bytes` on a fresh connection and collects everything the server sends until it closes
 * the connection (or `waitMs` passes).
 */
export const sendRaw = (port: number, bytes: string, waitMs = 2_000): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume) => {
    const socket = connect(port, "127.0.0.1")
    const chunks: Array<Buffer> = []
    const timer = setTimeout(() => socket.destroy(), waitMs)
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed(Buffer.concat(chunks).toString("latin1")))
    })
    socket.on("error", () => undefined)
    socket.write(bytes, "latin1")
    return Effect.sync(() => socket.destroy())
  })

/** The status code of the first response in a raw HTTP exchange. */
export const statusOf = (raw: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0)
