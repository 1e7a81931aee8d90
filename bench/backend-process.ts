/**
 * How a bench backend process serves: a `node:http` server on an ephemeral loopback port that
 * prints `listening on <port>` (what `startNodeBackend` waits for, so no port is ever raced for),
 * keeps idle connections as long as proxies pool them, and stops cleanly on SIGTERM.
 */
import { createServer } from "node:http"
import type { RequestListener } from "node:http"

export const serveBackend = (handler: RequestListener): void => {
  const server = createServer(handler)
  // Proxies keep pooled connections idle for a while; Node's 5 s default would close them mid-run.
  server.keepAliveTimeout = 75_000
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    process.stdout.write(`listening on ${typeof address === "object" && address !== null ? address.port : 0}\n`)
  })
  process.on("SIGTERM", () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}
