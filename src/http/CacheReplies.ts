/**
 * Answering from the response cache: the stored status and headers, `Age` (seconds since it was
 * stored), `X-Cache: HIT` and this request's own id; no body for a HEAD.
 */
import type { StoredResponse } from "../domain/cache/ResponseStore.ts"
import type { ClientResponse } from "./ClientMessage.ts"
import { writeResponseHead } from "./ClientMessage.ts"

/** Writes the stored response; returns the body bytes sent. */
export const serveFromCache = (
  response: ClientResponse,
  stored: StoredResponse,
  ageSeconds: number,
  requestId: string,
  method: string
): number => {
  const headers = [...stored.headers, "age", String(ageSeconds), "x-cache", "HIT", "x-request-id", requestId]
  writeResponseHead(response, stored.status, headers, stored.statusMessage)
  if (method === "HEAD") {
    response.end()
    return 0
  }
  response.end(stored.body)
  return stored.body.length
}
