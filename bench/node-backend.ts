/**
 * The fallback backend when nginx is not installed: a bare `node:http` server, run as its own
 * process (`node bench/node-backend.ts`), answering every request with the fixed body. It binds an
 * ephemeral port and prints `listening on <port>`, so it never races anyone for a port.
 */
import { createServer } from "node:http"
import { responseBody, responseBytes } from "./fixture.ts"

const body = Buffer.from(responseBody)
const headers = { "content-type": "text/plain", "content-length": String(responseBytes) }

const server = createServer((request, response) => {
  request.resume()
  response.writeHead(200, headers)
  response.end(body)
})
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
