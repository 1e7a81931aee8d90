/**
 * When an HTTP/2 connection's streams are an attack rather than traffic: the rapid-reset flood
 * (CVE-2023-44487: HEADERS then RST_STREAM, over and over) and its "made you reset" variant
 * (CVE-2025-8671: frames that make the server reset each stream itself). Each such stream costs
 * the proxy a routing decision and an upstream request, and costs the attacker almost nothing,
 * while the concurrent-stream limit never binds, since every stream is gone at once.
 *
 * The rule is Envoy's (`premature_reset_total_stream_count`): a stream is premature when it is
 * reset, by either side, before its response head went out and within its first second; a
 * connection at least `minPremature` of whose streams were premature, and at least half of all
 * its closed streams, is told GOAWAY and closed. Legitimate clients that cancel (a gRPC deadline,
 * a user leaving a page) cancel a minority of their streams, or cancel them later.
 */

export interface StreamTally {
  readonly closed: number
  readonly premature: number
}

export const emptyTally: StreamTally = { closed: 0, premature: 0 }

/** Premature streams before a connection can be judged a flood. */
export const minPremature = 100

/** A stream reset younger than this, with no response yet, is premature. */
export const prematureLifetimeMs = 1_000

export const isPremature = (reset: boolean, responded: boolean, lifetimeMs: number): boolean =>
  reset && !responded && lifetimeMs < prematureLifetimeMs

export const tallyClose = (tally: StreamTally, premature: boolean): StreamTally => ({
  closed: tally.closed + 1,
  premature: tally.premature + (premature ? 1 : 0)
})

export const isResetFlood = (tally: StreamTally): boolean =>
  tally.premature >= minPremature && tally.premature * 2 >= tally.closed
