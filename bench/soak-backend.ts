/**
 * The backend of `npm run soak`: a bare `node:http` server, run as its own process
 * (`node bench/soak-backend.ts`), answering the soak's mix (`soak-mix.ts`) by path:
 * - `/` and `/health`: the bench's fixed 100-byte body (so `waitServing` and health probes work);
 * - `/upload`: reads the request body whole and answers how many bytes it got;
 * - `/download`: 1 MiB, written in 64 KiB chunks with backpressure, as a file server would;
 * - `/poll`: the fixed body after 2 s, as a long poll answers when something happens.
 * It binds an ephemeral port and prints `listening on <port>`.
 */
import type { ServerResponse } from "node:http"
import { serveBackend } from "./backend-process.ts"
import { responseBody, responseBytes } from "./fixture.ts"
import { downloadBytes, pollMs } from "./soak-mix.ts"

const chunk = Buffer.alloc(64 * 1024, "d")
const body = Buffer.from(responseBody)
const small = { "content-type": "text/plain", "content-length": String(responseBytes) }

/** Writes `downloadBytes` in chunks, waiting for `drain` when the socket is full. */
const download = (response: ServerResponse): void => {
  response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(downloadBytes) })
  let left = downloadBytes / chunk.length
  const more = (): void => {
    while (left > 0 && !response.destroyed) {
      left--
      if (left === 0) {
        response.end(chunk)
        return
      }
      if (!response.write(chunk)) {
        response.once("drain", more)
        return
      }
    }
  }
  more()
}

serveBackend((request, response) => {
  switch (request.url) {
    case "/upload": {
      let bytes = 0
      request.on("data", (data: Buffer) => {
        bytes += data.length
      })
      request.on("end", () => {
        const text = `${bytes}\n`
        response.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(text)) })
        response.end(text)
      })
      return
    }
    case "/download":
      request.resume()
      return download(response)
    case "/poll": {
      request.resume()
      const timer = setTimeout(() => {
        response.writeHead(200, small)
        response.end(body)
      }, pollMs)
      response.once("close", () => clearTimeout(timer))
      return
    }
    default:
      request.resume()
      response.writeHead(200, small)
      response.end(body)
  }
})
