/**
 * The gRPC bench's load, run as its own process (`node bench/grpc-load.ts ADDRESS CALLS SECONDS`) so
 * that it does not share a thread with what it measures: one `@grpc/grpc-js` channel to ADDRESS
 * (one HTTP/2 connection, h2c with prior knowledge, as a gRPC client keeps one), CALLS unary echo
 * calls in flight, each followed by the next as soon as it is answered, for SECONDS counted from
 * the moment the channel is ready. A call that fails, or whose reply is not its request's bytes,
 * is an error. Prints one JSON line: `{ calls, errors, seconds, p50Ms, p99Ms, firstError }`, where
 * calls counts every call answered, errors included, and the latencies are those of the others.
 */
import { Client, credentials } from "@grpc/grpc-js"
import { performance } from "node:perf_hooks"
import { echoMethod, echoRequest } from "./grpc-echo.ts"
import { quantile } from "./open-loop.ts"

const readyTimeoutMs = 10_000

const [address, inFlightText, secondsText] = process.argv.slice(2)
const inFlight = Number(inFlightText)
const seconds = Number(secondsText)
if (address === undefined || !(Number.isInteger(inFlight) && inFlight >= 1) || !(seconds > 0)) {
  process.stderr.write("usage: node bench/grpc-load.ts HOST:PORT CALLS_IN_FLIGHT SECONDS\n")
  process.exit(2)
}

const client = new Client(address, credentials.createInsecure())
const latenciesMs: Array<number> = []
let calls = 0
let errors = 0
let firstError: string | undefined
let pending = inFlight
let startedAt = 0
let stopAt = 0

const finish = (endedAt: number) => {
  client.close()
  latenciesMs.sort((a, b) => a - b)
  process.stdout.write(
    JSON.stringify({
      calls,
      errors,
      seconds: (endedAt - startedAt) / 1_000,
      p50Ms: quantile(latenciesMs, 0.5),
      p99Ms: quantile(latenciesMs, 0.99),
      firstError: firstError ?? null
    }) + "\n"
  )
}

const call = () => {
  const start = performance.now()
  client.makeUnaryRequest(
    echoMethod.path,
    echoMethod.requestSerialize,
    echoMethod.responseDeserialize,
    echoRequest,
    (error, reply) => {
      const end = performance.now()
      calls++
      if (error === null && reply !== undefined && reply.equals(echoRequest)) {
        latenciesMs.push(end - start)
      } else {
        errors++
        firstError ??= error === null ? `a reply of ${reply?.length ?? 0} bytes, not the request's` : error.message
      }
      if (end < stopAt) call()
      else if (--pending === 0) finish(end)
    }
  )
}

client.waitForReady(Date.now() + readyTimeoutMs, (error) => {
  if (error !== undefined) {
    process.stderr.write(`grpc-load: ${address} not ready: ${error.message}\n`)
    process.exit(1)
  }
  startedAt = performance.now()
  stopAt = startedAt + seconds * 1_000
  for (let i = 0; i < inFlight; i++) call()
})
