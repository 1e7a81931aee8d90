/**
 * Real HTTP/2 backends for tests: `node:http2` servers on loopback ports, h2c (prior knowledge)
 * or h2 (TLS with the fixture certificate, ALPN h2), recording the streams they receive and the
 * sessions they accept (so a test can count connections and read what crossed the wire).
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { readFileSync } from "node:fs"
import { createSecureServer, createServer } from "node:http2"
import type {
  Http2SecureServer,
  Http2Server,
  Http2Session,
  IncomingHttpHeaders,
  ServerHttp2Session,
  ServerHttp2Stream
} from "node:http2"
import { fileURLToPath } from "node:url"

export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url))

/** The fixture certificate (`localhost`, `127.0.0.1`) and its key, PEM. */
export const tlsFixture = {
  cert: readFileSync(fixture("cert.pem"), "utf8"),
  key: readFileSync(fixture("key.pem"), "utf8")
}

export interface H2Arrival {
  readonly headers: IncomingHttpHeaders
  /** The header block as received: flat pairs, pseudo-headers first, repeats kept. */
  readonly rawHeaders: ReadonlyArray<string>
  readonly session: Http2Session | undefined
}

export interface H2Backend {
  /** `http://127.0.0.1:port` (h2c) or `https://localhost:port` (h2). */
  readonly url: string
  readonly port: number
  readonly server: Http2Server | Http2SecureServer
  /** Streams received, in arrival order. */
  readonly arrivals: Array<H2Arrival>
  /** Sessions accepted so far. */
  readonly sessions: () => number
  /** Sessions still open. */
  readonly openSessions: () => number
}

export type H2Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, backend: H2Backend) => void

/** Answers 200 with the request's path, once its body is read. */
export const echoPath: H2Handler = (stream, headers) => {
  stream.resume()
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "text/plain" })
    stream.end(String(headers[":path"]))
  })
}

export interface H2BackendOptions {
  readonly tls?: boolean
  /** SETTINGS the server sends (`maxConcurrentStreams`…). */
  readonly settings?: { readonly maxConcurrentStreams?: number }
}

export const startH2Backend = (
  handler: H2Handler = echoPath,
  options: H2BackendOptions = {}
): Effect.Effect<H2Backend, never, Scope.Scope> => {
  const open = new Set<ServerHttp2Session>()
  return Effect.acquireRelease(
    Effect.callback<H2Backend>((resume) => {
      const settings = options.settings === undefined ? {} : { settings: options.settings }
      const server = options.tls === true
        ? createSecureServer({ ...tlsFixture, ...settings })
        : createServer(settings)
      const arrivals: Array<H2Arrival> = []
      let sessions = 0
      const backend: H2Backend = {
        server,
        arrivals,
        sessions: () => sessions,
        openSessions: () => open.size,
        get port() {
          const address = server.address()
          return typeof address === "object" && address !== null ? address.port : 0
        },
        get url() {
          return options.tls === true ? `https://localhost:${backend.port}` : `http://127.0.0.1:${backend.port}`
        }
      }
      server.on("session", (session: ServerHttp2Session) => {
        sessions++
        open.add(session)
        session.on("error", () => undefined)
        session.once("close", () => open.delete(session))
      })
      server.on(
        "stream",
        (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: Array<string>) => {
          // Resets are what several tests provoke; unheard they would crash the test.
          stream.on("error", () => undefined)
          arrivals.push({ headers, rawHeaders: raw, session: stream.session })
          handler(stream, headers, backend)
        }
      )
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(backend)))
    }),
    (backend) =>
      Effect.callback<void>((resume) => {
        backend.server.close(() => resume(Effect.void))
        for (const session of open) session.destroy()
      })
  )
}
