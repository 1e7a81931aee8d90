/**
 * Bodies stream through with backpressure. 64 MiB each way arrives intact (SHA-256 on both
 * ends); 512 MiB each way leaves the proxy's peak memory far below the body size. The proxy runs
 * as its own process so its memory can be read from /proc, apart from the test's own buffers.
 *
 * Why 512 MiB for the memory bound: Node frees socket buffers only when V8 collects garbage, which
 * it does after tens of MiB of external allocations, so any process moving data peaks ~60-110 MiB
 * above its baseline however it streams. Only a body well beyond that shows that nothing is held.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { Readable } from "node:stream"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"

const MiB = 1024 * 1024
const chunkSize = 64 * 1024

/** Deterministic, incompressible-looking bytes: chunk i is filled from a hash of i. */
const chunk = (i: number): Buffer => {
  const seed = createHash("sha256").update(String(i)).digest()
  const out = Buffer.alloc(chunkSize)
  for (let offset = 0; offset < chunkSize; offset += seed.length) seed.copy(out, offset)
  return out
}

const bodyStream = (size: number) =>
  Readable.from((function*() {
    for (let i = 0; i < size / chunkSize; i++) yield chunk(i)
  })())

const sha256Of = (size: number): string => {
  const hash = createHash("sha256")
  for (let i = 0; i < size / chunkSize; i++) hash.update(chunk(i))
  return hash.digest("hex")
}

/** Peak resident memory of a process (VmHWM), in bytes. */
const peakRss = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024
}

/** A backend that stores uploads (hashing them) and serves `?bytes=N` downloads of `chunk`s. */
const bulkBackend = startBackend("bulk", (request, response) => {
  if (request.method === "GET") {
    const size = Number(new URL(request.url ?? "/", "http://x").searchParams.get("bytes"))
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) })
    bodyStream(size).pipe(response)
    return
  }
  request.on("end", () => response.end("stored"))
})

const proxyProcess = (backendUrl: string) =>
  Effect.gen(function*() {
    const config = writeConfig(`server: { host: 127.0.0.1, port: 0, maxBodySize: 1GiB }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ url: "${backendUrl}" }]
`)
    const cli = yield* startCli(["serve", "--config", config])
    return { pid: cli.pid, port: yield* listeningPort(cli) }
  })

const upload = (port: number, size: number) =>
  Effect.callback<number, Error>((resume) => {
    const request = httpRequest({ host: "127.0.0.1", port, method: "PUT", path: "/blob", agent: false }, (response) => {
      response.resume()
      response.on("end", () => resume(Effect.succeed(response.statusCode ?? 0)))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    bodyStream(size).pipe(request)
  })

const download = (port: number, size: number) =>
  Effect.callback<{ readonly bytes: number; readonly sha256: string }, Error>((resume) => {
    const request = httpRequest({ host: "127.0.0.1", port, path: `/blob?bytes=${size}`, agent: false }, (response) => {
      const hash = createHash("sha256")
      let bytes = 0
      response.on("data", (data: Buffer) => {
        bytes += data.length
        hash.update(data)
      })
      response.on("end", () => resume(Effect.succeed({ bytes, sha256: hash.digest("hex") })))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    request.end()
  })

describe("large bodies", () => {
  it.live("64 MiB up and 64 MiB down arrive byte-for-byte", () =>
    Effect.gen(function*() {
      const backend = yield* bulkBackend
      const proxy = yield* proxyProcess(backend.url)
      const size = 64 * MiB
      assert.strictEqual(yield* upload(proxy.port, size), 200)
      assert.strictEqual(backend.deliveries[0]?.bodyBytes, size)
      assert.strictEqual(backend.deliveries[0]?.bodySha256, sha256Of(size))
      assert.deepStrictEqual(yield* download(proxy.port, size), { bytes: size, sha256: sha256Of(size) })
    }), { timeout: 60_000 })

  it.live("512 MiB each way leave the proxy's peak memory far below the body size", () =>
    Effect.gen(function*() {
      const backend = yield* bulkBackend
      const proxy = yield* proxyProcess(backend.url)
      const size = 512 * MiB
      const baseline = peakRss(proxy.pid)
      assert.strictEqual(yield* upload(proxy.port, size), 200)
      assert.strictEqual(backend.deliveries[0]?.bodyBytes, size)
      assert.strictEqual((yield* download(proxy.port, size)).bytes, size)
      const growth = peakRss(proxy.pid) - baseline
      assert.isBelow(growth, 192 * MiB, `the proxy's peak RSS grew by ${Math.round(growth / MiB)} MiB`)
    }), { timeout: 60_000 })
})
