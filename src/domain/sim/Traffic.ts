/**
 * The requests of a scenario, in arrival order: when each arrives, from which client, with which
 * method, and the two draws that decide how fast and whether it fails wherever it is sent. They
 * come from a stream of uniform draws of their own, so every strategy gets the same traffic.
 */
import type { RequestFacts } from "../selection/Strategy.ts"
import { exponentialGap } from "./Distributions.ts"

export interface TrafficSettings {
  readonly durationMs: number
  readonly ratePerSecond: number
  /** `poisson`: independent arrivals; `fixed`: one every `1000 / ratePerSecond` ms from 0. */
  readonly arrivals: "poisson" | "fixed"
  readonly clients: number
  readonly postFraction: number
  /** The share of requests from client 0, the hot key. */
  readonly hotClientFraction: number
}

export interface Arrival {
  readonly at: number
  /** Which client (0-based); its address is `clientAddress(client)`. */
  readonly client: number
  /** A POST with a body; otherwise a GET without one. */
  readonly post: boolean
  /** The quantile of the backend's latency distribution this request gets on its first attempt. */
  readonly uLatency: number
  /** Compared with the backend's reset and error shares on its first attempt. */
  readonly uError: number
  /** The request as routing sees it, when it is not the client's `clientAddress` asking for `/` (a replay's). */
  readonly facts?: RequestFacts
  /**
   * Time the client waits beyond the answer's head, the same wherever the request goes (a
   * replay's: the proxy's own work and the body's transfer, as the log measured them).
   */
  readonly afterMs?: number
}

/** A distinct IPv4 address per client, `10.x.y.z`. */
export const clientAddress = (client: number): string =>
  `10.${(client >>> 16) & 255}.${(client >>> 8) & 255}.${client & 255}`

/** Arrivals one at a time (a million need not sit in memory); `undefined` once the duration is over. */
export const makeArrivals = (settings: TrafficSettings, random: () => number): () => Arrival | undefined => {
  const ratePerMs = settings.ratePerSecond / 1000
  const periodMs = 1000 / settings.ratePerSecond
  let index = 0
  let poissonAt = 0
  return () => {
    const at = settings.arrivals === "fixed" ? index * periodMs : (poissonAt += exponentialGap(ratePerMs, random()))
    if (at >= settings.durationMs) return undefined
    index++
    // One draw places the request: below the hot share, client 0; above, spread over all clients.
    const u = random()
    const hot = settings.hotClientFraction
    const client = u < hot ? 0 : Math.min(settings.clients - 1, Math.floor((u - hot) / (1 - hot) * settings.clients))
    const post = random() < settings.postFraction
    return { at, client, post, uLatency: random(), uError: random() }
  }
}
