/**
 * A request as it arrives, before anything is decided about it: its head scanned once, its id
 * (the client's, or a new one), the client as `trustProxy` decides it, and how to record an
 * answer the proxy gives itself. Shared by plain requests (`ProxyExchange`) and upgrades
 * (`UpgradeTunnel`), so both log and count a refusal the same way.
 */
import { randomUUID } from "node:crypto"
import type { RequestRecord } from "../domain/RequestRecord.ts"
import type { ClientRequest } from "./ClientMessage.ts"
import { firstForwardedFor, plainAddress, scanRequestHead } from "./HeaderRules.ts"
import type { RequestHead } from "./HeaderRules.ts"

export interface ReceptionEnv {
  /** Epoch milliseconds, with sub-millisecond precision, from Effect's `Clock`. */
  readonly now: () => number
  readonly trustProxy: boolean
  /** Told once per client request, when its response is over (metrics, access log). */
  readonly completed: (record: RequestRecord) => void
}

export interface Reception {
  readonly head: RequestHead
  readonly requestId: string
  /** The client as `trustProxy` decides it, and the socket peer. */
  readonly client: string
  readonly peer: string
  readonly receivedAt: number
  /**
   * Records the request once it is over (metrics, access log): the one place a `RequestRecord` is
   * built. `path` defaults to the target as received, `durationMs` to the time since it arrived.
   */
  readonly record: (ending: Ending) => void
  /** Records an answer no backend gave (a refusal, a cache hit, the client gone): `bytes` of body. */
  readonly answered: (status: number, bytes: number, cache: RequestRecord["cache"]) => void
}

/** How a request ended, as its driver knows it. */
export interface Ending {
  readonly status: number
  readonly backend: string | undefined
  readonly bytes: number
  readonly retries: number
  readonly cache: RequestRecord["cache"]
  /** The target as forwarded (the absolute form reduced to path and query). */
  readonly path?: string
  /** Up to the answer, when that is not now (an upgrade counts up to its `101`). */
  readonly durationMs?: number
  /** A gRPC call's status as sent to the client (`status` is then its HTTP equivalent). */
  readonly grpcStatus?: number | undefined
  readonly pool?: string | undefined
  /** The last attempt's start to its response head. */
  readonly upstreamMs?: number | undefined
}

/** How the client spoke, as the access log writes it. */
const protocolOf = (request: ClientRequest): string =>
  request.httpVersionMajor === 2 ? "HTTP/2" : request.httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1"

/**
 * The ids the proxy generates: UUID-shaped, a random prefix drawn once per process (so workers and
 * restarts never repeat each other's) and a counter. Unique is all an id must be; drawing 122
 * random bits per request cost more than the rest of its reception.
 */
const idPrefix = randomUUID().slice(0, 24)
let idCounter = 0

export const nextRequestId = (): string => {
  idCounter = (idCounter + 1) % 0x1000000000000
  return idPrefix + idCounter.toString(16).padStart(12, "0")
}

export const receive = (env: ReceptionEnv, request: ClientRequest): Reception => {
  const receivedAt = env.now()
  const head = scanRequestHead(request.rawHeaders)
  const requestId = head.requestId ?? nextRequestId()
  const peer = plainAddress(request.socket.remoteAddress ?? "")
  const client = env.trustProxy ? firstForwardedFor(head.forwardedFor) ?? peer : peer
  const record = (ending: Ending) =>
    env.completed({
      at: receivedAt,
      requestId,
      client,
      method: request.method ?? "",
      path: ending.path ?? request.url ?? "",
      protocol: protocolOf(request),
      status: ending.status,
      backend: ending.backend,
      pool: ending.pool,
      upstreamMs: ending.upstreamMs,
      durationMs: ending.durationMs ?? env.now() - receivedAt,
      bytes: ending.bytes,
      retries: ending.retries,
      cache: ending.cache,
      grpcStatus: ending.grpcStatus
    })
  const answered = (status: number, bytes: number, cache: RequestRecord["cache"]) =>
    record({ status, backend: undefined, bytes, retries: 0, cache })
  return { head, requestId, client, peer, receivedAt, record, answered }
}
