/**
 * The load generator of `npm run soak`, in a process of its own:
 * `node bench/soak-load.ts <url> <req/s> <seconds>`.
 *
 * Open loop at a fixed rate, as real clients are: a request is sent every 1/rate seconds
 * whatever the proxy's latency (wrk and autocannon are closed loops: they measure throughput,
 * and a slower proxy would simply get less load). The kinds follow `soak-mix.ts`. Clients keep
 * connections alive (one agent, up to `maxSockets`); an abandoned download closes its
 * connection, so connections also come and go.
 *
 * Every second it prints one JSON line of running totals (`sent`, `ok`, `aborted`, `errors`,
 * `skipped`, `inFlight`, `lastError`); after the last request it waits for those in flight,
 * closes its connections and prints `{"done":true,...}`. A request is skipped, not sent, while
 * `maxInFlight` are outstanding: an open loop must not pile up without bound on a stalled target.
 */
import { Agent, request as httpRequest } from "node:http"
import type { IncomingMessage } from "node:http"
import { responseBytes } from "./fixture.ts"
import type { Kind } from "./soak-mix.ts"
import { cycle, downloadBytes, pathOf, uploadBytes } from "./soak-mix.ts"

const tickMs = 10
const maxInFlight = 2_000
const maxSockets = 512
/** How long the end of the run waits for requests still in flight. */
const settleMs = 10_000

const [urlText, rateText, secondsText] = process.argv.slice(2)
const target = new URL(urlText ?? "")
const rate = Number(rateText)
const seconds = Number(secondsText)
if (!(rate > 0) || !(seconds > 0)) throw new Error("usage: soak-load.ts <url> <req/s> <seconds>")

const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })
const uploadBody = Buffer.alloc(uploadBytes, "u")
const expectedBytes: Record<Kind, number> = {
  small: responseBytes,
  upload: String(uploadBytes).length + 1,
  download: downloadBytes,
  abort: downloadBytes,
  poll: responseBytes
}

const totals = { sent: 0, ok: 0, aborted: 0, errors: 0, skipped: 0, inFlight: 0, lastError: "" }

const fail = (why: string) => {
  totals.errors++
  totals.lastError = why
}

const send = (kind: Kind): void => {
  totals.sent++
  totals.inFlight++
  let settled = false
  const settle = (outcome: () => void) => {
    if (settled) return
    settled = true
    totals.inFlight--
    outcome()
  }
  const upload = kind === "upload"
  const req = httpRequest({
    agent,
    host: target.hostname,
    port: target.port,
    method: upload ? "POST" : "GET",
    path: pathOf[kind],
    headers: upload ? { "content-type": "application/octet-stream", "content-length": String(uploadBytes) } : {}
  }, (response: IncomingMessage) => {
    if (response.statusCode !== 200) {
      response.resume()
      return settle(() => fail(`${kind}: status ${response.statusCode ?? "?"}`))
    }
    let bytes = 0
    response.on("data", (chunk: Buffer) => {
      bytes += chunk.length
      if (kind === "abort") {
        // The client gives up mid-response: its connection closes with the body half read.
        settle(() => totals.aborted++)
        req.destroy()
      }
    })
    response.on(
      "end",
      () =>
        settle(() =>
          bytes === expectedBytes[kind] ? totals.ok++ : fail(`${kind}: ${bytes} bytes, not ${expectedBytes[kind]}`)
        )
    )
    response.on("error", (error) => settle(() => fail(`${kind}: ${error.message}`)))
  })
  req.on("error", (error) => settle(() => fail(`${kind}: ${error.message}`)))
  req.end(upload ? uploadBody : undefined)
}

const report = (done: boolean) => process.stdout.write(`${JSON.stringify({ done, ...totals })}\n`)

const started = performance.now()
let scheduled = 0
const ticker = setInterval(() => {
  const elapsedMs = Math.min(performance.now() - started, seconds * 1000)
  const due = Math.floor((elapsedMs / 1000) * rate)
  for (; scheduled < due; scheduled++) {
    if (totals.inFlight >= maxInFlight) totals.skipped++
    else send(cycle[scheduled % cycle.length] ?? "small")
  }
  if (elapsedMs >= seconds * 1000) {
    clearInterval(ticker)
    void finish()
  }
}, tickMs)
const reporter = setInterval(() => report(false), 1_000)

const finish = async () => {
  const deadline = performance.now() + settleMs
  while (totals.inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  clearInterval(reporter)
  // Clients leave: the proxy's idle numbers are measured without their keep-alive connections.
  agent.destroy()
  report(true)
}
