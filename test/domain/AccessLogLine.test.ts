import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { accessLogLine, isoTime, lineAlignedWrites, millisText } from "../../src/domain/AccessLogLine.ts"
import type { RequestRecord } from "../../src/domain/RequestRecord.ts"

/** Any UTF-16 code units, lone surrogates included (which `unit: "binary"` never makes). */
const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff })).map((units) => String.fromCharCode(...units))

const record: fc.Arbitrary<RequestRecord> = fc.record({
  at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  requestId: fc.oneof(fc.string({ unit: "binary" }), codeUnits),
  client: fc.string(),
  method: fc.string(),
  path: fc.oneof(fc.string({ unit: "binary" }), codeUnits),
  status: fc.integer({ min: 100, max: 599 }),
  backend: fc.option(fc.string(), { nil: undefined }),
  pool: fc.option(fc.string(), { nil: undefined }),
  upstreamMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  bytes: fc.nat(),
  retries: fc.nat({ max: 10 }),
  cache: fc.constantFrom("HIT" as const, "MISS" as const, undefined),
  protocol: fc.constantFrom("HTTP/1.0", "HTTP/1.1", "HTTP/2"),
  grpcStatus: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined })
})

const decoder = new TextDecoder()

describe("access log line", () => {
  it("is one flat JSON object, in the order a person reads it", () => {
    const line = accessLogLine({
      at: Date.UTC(2026, 10, 23, 0, 31, 7, 212),
      requestId: "trace-me",
      client: "127.0.0.1",
      method: "GET",
      path: "/orders?page=2",
      status: 200,
      backend: "api",
      pool: "default",
      upstreamMs: 1.40051,
      durationMs: 1.92049,
      bytes: 38,
      retries: 0,
      cache: undefined,
      protocol: "HTTP/2",
      grpcStatus: undefined
    })
    assert.strictEqual(
      line,
      `{"time":"2026-11-23T00:31:07.212Z","level":"INFO","message":"request","requestId":"trace-me",` +
        `"client":"127.0.0.1","method":"GET","path":"/orders?page=2","protocol":"HTTP/2","status":200,"backend":"api",` +
        `"pool":"default","upstreamMs":1.401,"durationMs":1.92,"bytes":38,"retries":0,"cache":null}\n`
    )
  })

  it("property: whatever the strings, the line parses back to the record's facts", () =>
    fc.assert(fc.property(record, (r) => {
      const line = accessLogLine(r)
      assert.isTrue(line.endsWith("}\n"))
      assert.strictEqual(line.indexOf("\n"), line.length - 1, "one line")
      assert.deepStrictEqual(JSON.parse(line), {
        time: new Date(r.at).toISOString(),
        level: "INFO",
        message: "request",
        requestId: r.requestId,
        client: r.client,
        method: r.method,
        path: r.path,
        protocol: r.protocol,
        status: r.status,
        ...(r.grpcStatus === undefined ? {} : { grpcStatus: r.grpcStatus }),
        backend: r.backend ?? null,
        pool: r.pool ?? null,
        upstreamMs: r.upstreamMs === undefined ? null : Math.round(r.upstreamMs * 1000) / 1000,
        durationMs: Math.round(r.durationMs * 1000) / 1000,
        bytes: r.bytes,
        retries: r.retries,
        cache: r.cache ?? null
      })
    })))

  it("property: byte for byte the line JSON.stringify and String would write, whatever the strings and numbers", () =>
    fc.assert(fc.property(record, (r) => {
      const json = (value: string | undefined) => value === undefined ? "null" : JSON.stringify(value)
      const ms = (value: number) => String(Math.round(value * 1000) / 1000)
      assert.strictEqual(
        accessLogLine(r),
        `{"time":"${new Date(r.at).toISOString()}","level":"INFO","message":"request","requestId":${
          json(r.requestId)
        },"client":${json(r.client)},"method":${json(r.method)},"path":${json(r.path)},"protocol":${
          json(r.protocol)
        },"status":${r.status}${r.grpcStatus === undefined ? "" : `,"grpcStatus":${r.grpcStatus}`},"backend":${
          json(r.backend)
        },"pool":${json(r.pool)},"upstreamMs":${r.upstreamMs === undefined ? "null" : ms(r.upstreamMs)},"durationMs":${
          ms(r.durationMs)
        },"bytes":${r.bytes},"retries":${r.retries},"cache":${json(r.cache)}}\n`
      )
    })))

  it("property: millisText is String(Math.round(ms * 1000) / 1000) for every double", () =>
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.double({ min: 0, max: 2e9 })), (ms) => {
        assert.strictEqual(millisText(ms), String(Math.round(ms * 1000) / 1000))
      }),
      { numRuns: 10_000 }
    ))

  it("property: the time is toISOString's, from any instant (sub-millisecond ones included)", () =>
    fc.assert(fc.property(fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }), (at) => {
      assert.strictEqual(isoTime(at), new Date(at).toISOString())
    })))

  it("property: writes are whole lines of at most the limit, and together the batch in order", () =>
    fc.assert(fc.property(
      fc.array(fc.string({ unit: "binary", maxLength: 300 }).map((s) => s.replaceAll("\n", "") + "\n")),
      fc.integer({ min: 1, max: 600 }),
      (lines, limit) => {
        const batch = Buffer.from(lines.join(""), "utf8")
        const writes = lineAlignedWrites(batch, limit)
        assert.strictEqual(writes.map((w) => decoder.decode(w)).join(""), lines.join(""))
        for (const write of writes) {
          assert.strictEqual(write[write.length - 1], 0x0a, "ends at a line end")
          const single = write.indexOf(0x0a) === write.length - 1
          assert.isTrue(write.length <= limit || single, "over the limit only when one line is")
        }
      }
    )))

  it("a regular file's batch is one write", () => {
    const batch = Buffer.from("a\n".repeat(10_000))
    assert.strictEqual(lineAlignedWrites(batch, Number.POSITIVE_INFINITY).length, 1)
  })
})
