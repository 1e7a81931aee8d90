/**
 * Rate limiting through the real proxy: distinct client addresses (127.0.0.x) each get their own
 * budget; a client over it gets 429 with Retry-After and never reaches a backend.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBackend } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"

describe("rate limiting", () => {
  it.live("429 with Retry-After past a client's burst; other clients unaffected; counted", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("a")
      const proxy = yield* startProxy({
        rateLimit: { requestsPerSecond: 0.5, burst: 3 },
        backends: [{ url: backend.url }]
      })
      const from = (n: number) => send(proxy.url, { localAddress: `127.0.0.${n}` })
      const statuses: Array<number> = []
      for (let i = 0; i < 5; i++) statuses.push((yield* from(2)).status)
      assert.deepStrictEqual(statuses, [200, 200, 200, 429, 429])
      const refused = yield* from(2)
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(refused.headers["retry-after"], "2")
      assert.deepInclude(JSON.parse(refused.text), { status: 429, error: "too many requests" })
      for (let n = 3; n <= 40; n++) assert.strictEqual((yield* from(n)).status, 200, `127.0.0.${n}`)
      assert.strictEqual(backend.deliveries.length, 3 + 38)
      const metrics = (yield* send(proxy.adminUrl, { path: "/metrics" })).text
      assert.include(metrics, "lb_rate_limited_requests_total 3")
      assert.include(metrics, `lb_requests_total{backend="none",method="GET",status="429"} 3`)
    }))
})
