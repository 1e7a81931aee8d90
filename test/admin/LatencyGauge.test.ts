/**
 * `lb_backend_ewma_latency_seconds` over real sockets: the average latency a backend was measured
 * at, not the decayed figure the strategies read to try an idle backend again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import type { Handler } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

/** The value of one Prometheus sample line, e.g. `lb_requests_total{...} 7`. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Answers 100 ms after the request has arrived. */
const in100ms: Handler = (request, response) => {
  request.resume()
  request.on("end", () => setTimeout(() => response.end("ok"), 100))
}

describe("the EWMA latency gauge", () => {
  it.live("a backend answering in 100 ms reads 0.1 s after six requests, in the gauge and the JSON snapshot, however long it has been idle since", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a", in100ms)
      // A 50 ms decay, so that 200 ms idle would read e⁻⁴ ≈ 2 % of the estimate, were it decayed.
      const proxy = yield* startProxy({ ewma: { decay: "50ms" }, backends: [{ name: "a", url: a.url }] })
      for (let i = 0; i < 6; i++) yield* send(proxy.url)
      yield* Effect.sleep("200 millis")
      const gauge = sample(
        (yield* send(proxy.adminUrl, { path: "/metrics" })).text,
        `lb_backend_ewma_latency_seconds{backend="a"}`
      )
      const estimate = proxy.registry.get("a")?.latency
      assert.strictEqual(gauge, (estimate?.value ?? Number.NaN) / 1000)
      assert.strictEqual(estimate?.samples, 6)
      assert.isAtLeast(gauge ?? 0, 0.1)
      assert.isBelow(gauge ?? 0, 0.2)
      // The JSON snapshot says the same, to the millisecond it rounds to.
      const snapshot = JSON.parse((yield* send(proxy.adminUrl, { path: "/metrics?format=json" })).text)
      const row = (snapshot.backends.list as ReadonlyArray<{ name: string; ewmaLatencyMs: number }>)
        .find((backend) => backend.name === "a")
      assert.closeTo(row?.ewmaLatencyMs ?? 0, estimate?.value ?? 0, 0.001)
    }))
})
