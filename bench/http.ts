/**
 * Readiness for bench targets: a target counts as started only once it answers with the fixed
 * body, which also proves that the process answering is ours and not whoever else took the port.
 */
import { get } from "node:http"
import type { IncomingMessage } from "node:http"
import { get as getTls } from "node:https"
import type { Child } from "./children.ts"
import { responseBody } from "./fixture.ts"

const pollIntervalMs = 50

/**
 * One GET on a fresh connection (no agent, so no socket is left open), or the error's message. An
 * `https:` URL is not checked against a CA: bench targets serve the test fixtures' self-signed
 * certificate, and the body, not the certificate, tells that the server is ours.
 */
export const getOnce = (url: string): Promise<{ readonly status: number; readonly body: string } | string> =>
  new Promise((resolve) => {
    const onResponse = (response: IncomingMessage) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      response.on("error", (error) => resolve(error.message))
    }
    const options = { agent: false, timeout: 2_000 }
    const request = url.startsWith("https:")
      ? getTls(url, { ...options, rejectUnauthorized: false }, onResponse)
      : get(url, options, onResponse)
    request.on("timeout", () => request.destroy(new Error("timed out")))
    request.on("error", (error) => resolve(error.message))
  })

/**
 * Polls `url` until it answers 200 with the fixed body; rejects with the last answer and the
 * child's output when `child` ends first or `timeoutMs` passes.
 */
export const waitServing = async (url: string, child: Child, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let last = "no answer yet"
  while (child.isRunning() && Date.now() < deadline) {
    const answer = await getOnce(url)
    if (typeof answer !== "string" && answer.status === 200 && answer.body === responseBody) return
    last = typeof answer === "string"
      ? answer
      : `status ${answer.status}, ${answer.body.length} bytes: ${answer.body.slice(0, 80)}`
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs))
  }
  const why = child.isRunning() ? `not serving the bench body within ${timeoutMs} ms` : `ended (${await child.exited})`
  throw new Error(`${child.name} at ${url}: ${why}; last answer: ${last}\n${child.output()}`)
}
