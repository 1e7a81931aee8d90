/**
 * `npm run bench:idle-resets`: how many requests are lost to a backend's idle timeout.
 *
 * A backend closes a keep-alive connection once it has been idle for its limit; a request written
 * just then is lost before any byte of it is read. Here the race is played out for certain: the
 * backend (in this process) destroys the connection of any request that arrives on a connection
 * idle for longer than IDLE_LIMIT_MS (as a request crossing the backend's close on the wire, or a
 * middlebox that silently dropped the idle connection, would be), and it sends no
 * `Keep-Alive: timeout` hint (gunicorn and nginx send none). `node dist/main.js serve` proxies to
 * it (the breaker out of the way, so that what is counted is loss, not shutting out), and
 * IDLE_CLIENTS clients each send their share of IDLE_REQUESTS requests one after another, after
 * a random pause of up to IDLE_MAX_GAP_MS each: half POSTs with a body (never replayed, the
 * contract's rule), half GETs (replayed on a fresh connection when their connection turns out
 * dead).
 *
 * It prints, per method, the answers the clients got, and from the backend: requests dropped on
 * idle connections and POSTs processed twice (must be 0). A "lost" request is a 502 the backend
 * never processed. To compare builds, point IDLE_MAIN at another build's `dist/main.js`.
 *
 * Settings, from the environment: IDLE_REQUESTS (default 100), IDLE_CLIENTS (2),
 * IDLE_MAX_GAP_MS (2500), IDLE_LIMIT_MS (1200), IDLE_MAIN (dist/main.js). About 60 s by default.
 */
import { writeFileSync } from "node:fs"
import { Agent, createServer, request as httpRequest } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { makeTempDir, runBench, spawnChild } from "./children.ts"
import { switchyardMainJs } from "./switchyard.ts"

const setting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`)
  return value
}

const requests = setting("IDLE_REQUESTS", 100)
const clients = Math.max(1, setting("IDLE_CLIENTS", 2))
const maxGapMs = setting("IDLE_MAX_GAP_MS", 2_500)
const limitMs = setting("IDLE_LIMIT_MS", 1_200)
const mainJs = process.env["IDLE_MAIN"] ?? switchyardMainJs

interface BackendTally {
  dropped: number
  processed: number
  readonly posts: Map<string, number>
}

/** The backend: drops requests on connections idle past the limit, answers the rest. */
const startBackend = (tally: BackendTally): Promise<number> =>
  new Promise((resolve) => {
    const idleSince = new WeakMap<Socket, number>()
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket
      const since = idleSince.get(socket)
      if (since !== undefined && performance.now() - since > limitMs) {
        tally.dropped++
        socket.destroy()
        return
      }
      idleSince.delete(socket)
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        tally.processed++
        if (request.method === "POST") {
          const id = Buffer.concat(chunks).toString()
          tally.posts.set(id, (tally.posts.get(id) ?? 0) + 1)
        }
        response.end("ok", () => idleSince.set(socket, performance.now()))
      })
    })
    // No `Keep-Alive: timeout=5` hint, and no close of its own: the limit above plays the timeout.
    server.keepAliveTimeout = 0
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })

const startProxy = async (backendPort: number): Promise<string> => {
  const dir = makeTempDir("switchyard-idle-resets-")
  const config = join(dir, "switchyard.yaml")
  writeFileSync(
    config,
    [
      "server: { host: 127.0.0.1, port: 0, gracePeriod: 1s }",
      "admin: { host: 127.0.0.1, port: 0 }",
      "circuitBreaker: { failureThreshold: 100000 }",
      "backends:",
      `  - url: http://127.0.0.1:${backendPort}`,
      "logging: { level: info, access: false }",
      ""
    ].join("\n")
  )
  const child = spawnChild("switchyard", process.execPath, [mainJs, "serve", "--config", config])
  const origin = (await child.waitFor(/proxy listening on (http:\/\/[^\s"]+)/, 10_000))[1]
  if (origin === undefined) throw new Error("switchyard logged no listening address")
  return origin
}

const send = (agent: Agent, origin: string, method: string, body: string | undefined): Promise<number> =>
  new Promise((resolve) => {
    const url = new URL("/item", origin)
    const request = httpRequest(url, { method, agent }, (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode ?? 0))
      response.on("error", () => resolve(0))
    })
    request.on("error", () => resolve(0))
    request.end(body)
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const main = async () => {
  const tally: BackendTally = { dropped: 0, processed: 0, posts: new Map() }
  const origin = await startProxy(await startBackend(tally))
  // The clients keep their connections to the proxy: only the proxy's upstream reuse is tested.
  const agent = new Agent({ keepAlive: true, maxSockets: clients })
  const answers = new Map<string, number>()
  let next = 0
  const client = async () => {
    while (next < requests) {
      const n = next++
      await sleep(Math.random() * maxGapMs)
      const method = n % 2 === 0 ? "POST" : "GET"
      const status = await send(agent, origin, method, method === "POST" ? `order-${n}` : undefined)
      const key = `${method} ${status}`
      answers.set(key, (answers.get(key) ?? 0) + 1)
    }
  }
  const startedAt = performance.now()
  await Promise.all(Array.from({ length: clients }, client))
  agent.destroy()
  const seconds = (performance.now() - startedAt) / 1000
  const twice = Array.from(tally.posts.values()).filter((count) => count > 1).length
  const count = (key: string) => answers.get(key) ?? 0
  process.stdout.write(
    [
      `idle resets: ${requests} requests (half POST, half GET) from ${clients} clients, pauses up to ${maxGapMs} ms,`,
      `backend drops requests on connections idle > ${limitMs} ms; ${mainJs}; ${seconds.toFixed(1)} s`,
      ...Array.from(answers.keys()).sort().map((key) => `  ${key.padEnd(9)} ${count(key)}`),
      `  lost POSTs (502): ${count("POST 502")}   lost GETs (502): ${count("GET 502")}`,
      `  backend: ${tally.processed} processed, ${tally.dropped} dropped on idle connections, ${twice} POSTs processed twice`,
      ""
    ].join("\n")
  )
}

await runBench("idle-resets", main)
