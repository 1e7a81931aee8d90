/**
 * The demo's backends: small `node:http` servers in this process, each answering after its own
 * latency with a JSON note of who answered, and `GET /health` at once. They make `npm start`
 * show load balancing without any other service running.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { createServer } from "node:http"
import type { Server } from "node:http"

export interface DemoBackend {
  readonly name: string
  readonly latencyMs: number
  readonly url: string
}

export const demoLatencies: ReadonlyArray<{ readonly name: string; readonly latencyMs: number }> = [
  { name: "demo-fast", latencyMs: 5 },
  { name: "demo-medium", latencyMs: 25 },
  { name: "demo-slow", latencyMs: 80 }
]

const startOne = (name: string, latencyMs: number): Effect.Effect<DemoBackend, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Server; readonly port: number }, Error>((resume) => {
      const server = createServer((request, response) => {
        request.resume()
        if (request.url === "/health") {
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify({ status: "ok", backend: name }))
          return
        }
        setTimeout(() => {
          const body = JSON.stringify({
            backend: name,
            latencyMs,
            method: request.method,
            path: request.url,
            requestId: request.headers["x-request-id"] ?? null,
            forwardedFor: request.headers["x-forwarded-for"] ?? null
          })
          response.writeHead(200, { "content-type": "application/json" })
          response.end(`${body}\n`)
        }, latencyMs)
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, port: typeof address === "object" && address !== null ? address.port : 0 }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ port }) => ({ name, latencyMs, url: `http://127.0.0.1:${port}` })))

/** Starts the three demo backends; they stop when the scope closes. */
export const startDemoBackends: Effect.Effect<ReadonlyArray<DemoBackend>, Error, Scope.Scope> = Effect.forEach(
  demoLatencies,
  ({ latencyMs, name }) => startOne(name, latencyMs)
)
