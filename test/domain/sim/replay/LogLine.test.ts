/** A traffic log's lines read back: the access log's own lines, the other log lines, bad ones. */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { accessLogLine } from "../../../../src/domain/AccessLogLine.ts"
import type { RequestRecord } from "../../../../src/domain/RequestRecord.ts"
import { decodeLogLine } from "../../../../src/domain/sim/replay/LogLine.ts"

/** Records varied in what a replay reads; the rest of the line is the writer's business (its own tests). */
const record: fc.Arbitrary<RequestRecord> = fc.tuple(
  fc.integer({ min: 0, max: 4_102_444_800_000 }),
  fc.tuple(fc.string(), fc.constantFrom("GET", "POST", "PATCH"), fc.string({ unit: "binary" })),
  fc.tuple(fc.integer({ min: 100, max: 599 }), fc.nat({ max: 10 })),
  fc.tuple(fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined })),
  fc.tuple(
    fc.double({ min: 0, max: 1e6, noNaN: true }),
    fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined })
  )
).map(([at, [client, method, path], [status, retries], [backend, pool], [durationMs, upstreamMs]]) => ({
  at,
  requestId: "r",
  client,
  method,
  path,
  protocol: "HTTP/1.1",
  status,
  backend,
  pool,
  upstreamMs,
  durationMs,
  bytes: 0,
  retries,
  cache: undefined,
  grpcStatus: undefined
}))

const ms3 = (value: number) => Math.round(value * 1000) / 1000

describe("traffic log line", () => {
  it("property: every access-log line the proxy writes reads back as the request it records", () =>
    fc.assert(fc.property(record, fc.integer({ min: 1, max: 1e6 }), (r, line) => {
      const decoded = decodeLogLine(accessLogLine(r).trimEnd(), line)
      assert.deepStrictEqual(
        decoded,
        Result.succeed({
          at: r.at,
          client: r.client,
          method: r.method,
          path: r.path,
          status: r.status,
          backend: r.backend,
          pool: r.pool,
          upstreamMs: r.upstreamMs === undefined ? undefined : ms3(r.upstreamMs),
          durationMs: ms3(r.durationMs),
          retries: r.retries
        })
      )
    })))

  it("other log lines and blank lines are no request; a line of an older log, without pool and upstreamMs, has its duration as the backend's time", () => {
    assert.deepStrictEqual(
      decodeLogLine(`{"time":"2026-11-23T00:31:07.212Z","level":"WARN","message":"backend a unhealthy"}`, 1),
      Result.succeed(undefined)
    )
    assert.deepStrictEqual(decodeLogLine("  ", 2), Result.succeed(undefined))
    const old = decodeLogLine(
      `{"time":"2026-11-23T00:31:07.212Z","message":"request","client":"c","method":"GET","path":"/","status":200,"backend":"a","durationMs":2.5,"retries":0}`,
      3
    )
    assert.deepStrictEqual(
      old,
      Result.succeed({
        at: Date.UTC(2026, 10, 23, 0, 31, 7, 212),
        client: "c",
        method: "GET",
        path: "/",
        status: 200,
        backend: "a",
        pool: undefined,
        upstreamMs: 2.5,
        durationMs: 2.5,
        retries: 0
      })
    )
  })

  it("a bad line names its line and the field", () => {
    assert.deepStrictEqual(
      decodeLogLine(
        `{"time":"yesterday","message":"request","client":"c","method":"GET","path":"/","status":200,"backend":null,"durationMs":1,"retries":0}`,
        12
      ),
      Result.fail([{ path: "time", message: "Expected an ISO 8601 time", line: 12, column: 1 }])
    )
    assert.deepStrictEqual(
      decodeLogLine(`{"message":"request","time":"2026-11-23T00:31:07.212Z"}`, 4),
      Result.fail([{ path: "client", message: "Missing required key", line: 4, column: 1 }])
    )
    assert.deepStrictEqual(
      decodeLogLine(`[1,2]`, 5),
      Result.fail([{
        path: "",
        message: "Expected a JSON log line (an object with a message)",
        line: 5
      }])
    )
    const notJson = decodeLogLine(`{"time":`, 6)
    assert.isTrue(Result.isFailure(notJson) && notJson.failure[0]?.message.startsWith("not a JSON log line ("))
  })
})
