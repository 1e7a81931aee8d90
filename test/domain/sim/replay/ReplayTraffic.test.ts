/** The log's requests as arrivals: in arrival order, each once, with its own latency quantile. */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { SimulatedBackend } from "../../../../src/domain/sim/BackendModel.ts"
import { interpolate } from "../../../../src/domain/sim/Distributions.ts"
import type { LoggedRequest } from "../../../../src/domain/sim/replay/LogLine.ts"
import { rankOf, replayWorkload } from "../../../../src/domain/sim/replay/ReplayTraffic.ts"
import type { Arrival } from "../../../../src/domain/sim/Traffic.ts"

const points = Float64Array.from([1, 2, 2, 2, 5, 9])

const backend: SimulatedBackend = {
  name: "a",
  latency: { _tag: "Empirical", points },
  errorFraction: 0.1,
  resetFraction: 0,
  overloadFraction: 0,
  retryAfterMs: 0,
  capacity: undefined,
  changes: []
}

const request = (at: number, durationMs: number, extra: Partial<LoggedRequest> = {}): LoggedRequest => ({
  at,
  client: "10.0.0.1",
  method: "GET",
  path: "/",
  status: 200,
  backend: "a",
  pool: undefined,
  upstreamMs: durationMs,
  durationMs,
  retries: 0,
  ...extra
})

const drain = (next: () => Arrival | undefined): Array<Arrival> => {
  const all: Array<Arrival> = []
  for (let arrival = next(); arrival !== undefined; arrival = next()) all.push(arrival)
  return all
}

const workloadOf = (lines: ReadonlyArray<LoggedRequest>, maxDurationMs: number) =>
  replayWorkload({
    open: () => {
      let i = 0
      return () => lines[i++]
    },
    pool: "default",
    startMs: 1_000,
    maxDurationMs,
    meanAfterMs: 0.5,
    backends: [backend],
    expectedRequests: lines.length
  })

describe("replayed traffic", () => {
  it("property: the rank of a value within the points interpolates back to it", () =>
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 1_000, noNaN: true }), { minLength: 2, maxLength: 50 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (values, u) => {
        const sorted = Float64Array.from(values).sort()
        const x = interpolate(sorted, u)
        assert.closeTo(interpolate(sorted, rankOf(sorted, x)), x, 1e-9 * Math.max(1, x))
      }
    )))

  it("ranks: below the minimum 0, above the maximum 1, ties at their middle", () => {
    assert.strictEqual(rankOf(points, 0.5), 0)
    assert.strictEqual(rankOf(points, 10), 1)
    assert.strictEqual(rankOf(points, 2), 0.4)
    assert.strictEqual(rankOf(points, 7), 0.9)
  })

  it("property: lines written as requests end come out in arrival order, each once, from the start", () =>
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1_000, max: 60_000 }), fc.integer({ min: 0, max: 3_000 })), {
        maxLength: 200
      }),
      (requests) => {
        const lines = requests.map(([at, ms]) => request(at, ms)).sort((x, y) =>
          x.at + x.durationMs - (y.at + y.durationMs)
        )
        const maxDurationMs = Math.max(0, ...lines.map((line) => line.durationMs))
        const arrivals = drain(workloadOf(lines, maxDurationMs).arrivals(() => 0.5))
        assert.deepStrictEqual(
          arrivals.map((arrival) => arrival.at),
          requests.map(([at]) => at - 1_000).sort((a, b) => a - b)
        )
      }
    )))

  it("a request keeps its own quantile, its 5xx and its time beyond the answer; one the log does not place draws; other pools and cache hits stay out", () => {
    const lines = [
      request(1_000, 5),
      request(1_001, 2, { status: 503 }),
      request(1_002, 3, { backend: undefined, upstreamMs: undefined, status: 503, method: "POST" }),
      request(1_003, 3, { pool: "other" }),
      request(1_004, 1, { backend: undefined, upstreamMs: undefined, status: 200 })
    ]
    const arrivals = drain(workloadOf(lines, 5).arrivals(() => 0.25))
    assert.deepStrictEqual(arrivals.map(({ at, post, uLatency, uError }) => ({ at, post, uLatency, uError })), [
      { at: 0, post: false, uLatency: 0.8, uError: 0.1 + 0.25 * 0.9 },
      { at: 1, post: false, uLatency: 0.4, uError: 0.25 * 0.1 },
      { at: 2, post: true, uLatency: 0.25, uError: 0.25 }
    ])
    assert.deepStrictEqual(arrivals[0]?.facts?.clientAddress, "10.0.0.1")
    // Beyond the backend's answer: its own when the log has it (none here), else the log's mean.
    assert.deepStrictEqual(arrivals.map((arrival) => arrival.afterMs), [0, 0, 0.5])
  })
})
