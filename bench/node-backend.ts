/**
 * The fallback backend when nginx is not installed: a bare `node:http` server, run as its own
 * process (`node bench/node-backend.ts`), answering every request with the fixed body. It binds an
 * ephemeral port and prints `listening on <port>`, so it never races anyone for a port.
 */
import { serveBackend } from "./backend-process.ts"
import { responseBody, responseBytes } from "./fixture.ts"

const body = Buffer.from(responseBody)
const headers = { "content-type": "text/plain", "content-length": String(responseBytes) }

serveBackend((request, response) => {
  request.resume()
  response.writeHead(200, headers)
  response.end(body)
})
