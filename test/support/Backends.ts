/**
 * Real backends for tests: `node:http` servers on loopback ports, recording every request they
 * receive (so a test can count deliveries and inspect exactly what crossed the proxy).
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer as createNetServer } from "node:net"
import type { Server as NetServer, Socket } from "node:net"

export interface Delivery {
  readonly method: string
  /** The request target exactly as received. */
  readonly url: string
  readonly rawHeaders: ReadonlyArray<string>
  readonly headers: IncomingMessage["headers"]
  readonly bodyBytes: number
  readonly bodySha256: string
  /** The body itself, for bodies up to 64 KiB (larger ones are only counted and hashed). */
  readonly body: Buffer | undefined
}

export interface TestBackend {
  readonly name: string
  readonly url: string
  readonly port: number
  readonly server: Server
  /** Requests whose body has been read in full, in arrival order. */
  readonly deliveries: Array<Delivery>
  /** Requests that reached the handler (body possibly still arriving). */
  readonly arrivals: () => number
}

export type Handler = (request: IncomingMessage, response: ServerResponse, backend: TestBackend) => void

/** Answers 200 with a small JSON body naming the backend, once the request body is read. */
export const echoName: Handler = (request, response, backend) => {
  request.resume()
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end(JSON.stringify({ backend: backend.name, url: request.url }))
  })
}

/**
 * Answers the first request on each connection and drops the connection on any later one, without
 * a word: the keep-alive race of a backend closing an idle connection just as it is reused.
 */
export const dropsReusedConnections = (): Handler => {
  const used = new WeakSet<Socket>()
  return (request, response) => {
    if (used.has(request.socket)) {
      request.socket.destroy()
      return
    }
    used.add(request.socket)
    request.resume()
    response.end("fresh")
  }
}

const record = (request: IncomingMessage, deliveries: Array<Delivery>) => {
  const hash = createHash("sha256")
  let bytes = 0
  let kept: Array<Buffer> | undefined = []
  request.on("data", (chunk: Buffer) => {
    bytes += chunk.length
    hash.update(chunk)
    kept = kept !== undefined && bytes <= 64 * 1024 ? [...kept, chunk] : undefined
  })
  request.on("end", () =>
    deliveries.push({
      method: request.method ?? "",
      url: request.url ?? "",
      rawHeaders: request.rawHeaders,
      headers: request.headers,
      bodyBytes: bytes,
      bodySha256: hash.digest("hex"),
      body: kept === undefined ? undefined : Buffer.concat(kept)
    }))
}

/**
 * A backend on `at` (by default a free port on 127.0.0.1). Other loopback addresses (127.0.0.2,
 * `::1`) on one port make several backends that one host name can resolve to.
 */
export const startBackend = (
  name: string,
  handler: Handler = echoName,
  at: { readonly host: string; readonly port: number } = { host: "127.0.0.1", port: 0 }
): Effect.Effect<TestBackend, never, Scope.Scope> => {
  // Upgraded sockets (WebSocket tests) leave the server's HTTP bookkeeping, so
  // `closeAllConnections` misses them: every socket is tracked here to be closed at the end.
  const sockets = new Set<Socket>()
  return Effect.acquireRelease(
    Effect.callback<TestBackend>((resume) => {
      const deliveries: Array<Delivery> = []
      let arrivals = 0
      const server = createServer()
      server.on("connection", (socket: Socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
      })
      const backend: TestBackend = {
        name,
        server,
        deliveries,
        arrivals: () => arrivals,
        get url() {
          return `http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${backend.port}`
        },
        get port() {
          const address = server.address()
          return typeof address === "object" && address !== null ? address.port : 0
        }
      }
      server.on("request", (request: IncomingMessage, response: ServerResponse) => {
        arrivals++
        record(request, deliveries)
        handler(request, response, backend)
      })
      server.listen(at.port, at.host, () => resume(Effect.succeed(backend)))
    }),
    (backend) =>
      Effect.callback<void>((resume) => {
        backend.server.close(() => resume(Effect.void))
        backend.server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
  )
}

/** A port nothing listens on: bound, read, closed. */
export const closedPort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export interface RawBackend {
  readonly url: string
  /** Request heads received, in order (bodiless requests: the tests that use this send none). */
  readonly heads: Array<string>
  /** Connections accepted so far. */
  readonly connections: () => number
}

/**
 * A backend that answers in raw bytes, for responses `node:http` will not produce (interim
 * responses, framing a server must not send). `answer` writes the whole response for each
 * request head received; the connection stays open for the next one.
 */
export const startRawBackend = (
  answer: (socket: Socket, head: string) => void
): Effect.Effect<RawBackend, never, Scope.Scope> => {
  const sockets = new Set<Socket>()
  return Effect.acquireRelease(
    Effect.callback<{ readonly server: NetServer; readonly backend: RawBackend }>((resume) => {
      const heads: Array<string> = []
      let connections = 0
      const server = createNetServer((socket) => {
        connections++
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
        socket.on("error", () => undefined)
        let pending = ""
        socket.on("data", (chunk: Buffer) => {
          pending += chunk.toString("latin1")
          for (let end = pending.indexOf("\r\n\r\n"); end !== -1; end = pending.indexOf("\r\n\r\n")) {
            const head = pending.slice(0, end)
            pending = pending.slice(end + 4)
            heads.push(head)
            answer(socket, head)
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          backend: { url: `http://127.0.0.1:${port}`, heads, connections: () => connections }
        }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ backend }) => backend))
}
