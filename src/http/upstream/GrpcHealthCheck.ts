/**
 * The gRPC health probe (`healthCheck.grpc`): `grpc.health.v1.Health/Check` for the whole server
 * (`service: ""`) on the backend's origin, over the same HTTP/2 client as proxied traffic
 * (`Http2Backend`: h2c or h2 by the URL's scheme), on sessions of its own kept per origin
 * across probes.
 *
 * Healthy iff the call succeeds (`grpc-status: 0`) and its `HealthCheckResponse.status` is
 * `SERVING`. Both messages are tiny enough to be written and read by hand (gRPC's wire format:
 * a 5-byte prefix — compressed flag, length — then the protobuf), with no protobuf library:
 * the request is the empty message, the response one varint field.
 */
import type { Effect } from "effect"
import { Readable } from "node:stream"
import type { BackendSpec } from "../../domain/Backend.ts"
import type { UpstreamControl, UpstreamRequest } from "../../services/Upstream.ts"
import { version } from "../../version.ts"
import { Http2Backend } from "./Http2Backend.ts"
import { ProbeCall, ProbeClients, probeKeepMs } from "./ProbeCalls.ts"

const checkPath = "/grpc.health.v1.Health/Check"

/** `HealthCheckRequest { service: "" }`: the empty message, framed (not compressed, length 0). */
const checkRequestFrame = Buffer.from([0, 0, 0, 0, 0])

/** A response larger than this is not a `HealthCheckResponse`. */
const maxResponseBytes = 1024

/** gRPC's status names, by code. */
const grpcStatusNames: ReadonlyArray<string> = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED"
]

/** `HealthCheckResponse.ServingStatus`, by value. */
const servingStatusNames: ReadonlyArray<string> = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]

const serving = 1

const valueOf = (flat: ReadonlyArray<string>, name: string): string | undefined => {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]?.toLowerCase() === name) return flat[i + 1]
  return undefined
}

/** A protobuf varint at `at`: its value and the offset after it; `undefined` if cut short. */
const varint = (bytes: Buffer, at: number): { readonly value: number; readonly next: number } | undefined => {
  let value = 0
  for (let i = at, shift = 0; i < bytes.length && shift < 49; i++, shift += 7) {
    const byte = bytes[i] ?? 0
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return { value, next: i + 1 }
  }
  return undefined
}

/**
 * `HealthCheckResponse.status` (field 1, a varint) from one gRPC message frame; 0 (`UNKNOWN`)
 * when absent, as protobuf reads a missing field. Other fields are skipped by their wire type.
 * A string when the frame is not such a message.
 */
export const servingStatusOf = (frame: Buffer): number | string => {
  if (frame.length < 5) return "no response message"
  if (frame[0] !== 0) return "a compressed response message"
  const message = frame.subarray(5, 5 + frame.readUInt32BE(1))
  let status = 0
  for (let at = 0; at < message.length;) {
    const tag = varint(message, at)
    if (tag === undefined) return "a malformed response message"
    const field = Math.floor(tag.value / 8)
    const wireType = tag.value % 8
    at = tag.next
    if (wireType === 0) {
      const value = varint(message, at)
      if (value === undefined) return "a malformed response message"
      if (field === 1) status = value.value
      at = value.next
    } else if (wireType === 1) at += 8
    else if (wireType === 5) at += 4
    else if (wireType === 2) {
      const length = varint(message, at)
      if (length === undefined) return "a malformed response message"
      at = length.next + length.value
    } else return "a malformed response message"
  }
  return status
}

const checkRequest = (): UpstreamRequest => ({
  method: "POST",
  path: checkPath,
  headers: ["content-type", "application/grpc", "user-agent", `switchyard-health/${version}`],
  // Framing is HTTP/1's concern: over HTTP/2 the body's DATA frames end with the stream.
  framing: "chunked",
  body: Readable.from([checkRequestFrame]),
  trailers: true
})

/** One Check call. */
class CheckCall extends ProbeCall {
  private status = 0
  private head: Array<string> = []
  private readonly chunks: Array<Buffer> = []
  private bytes = 0

  onResponseStart(_control: UpstreamControl, status: number, headers: Array<string>): void {
    if (status < 200) return
    this.status = status
    this.head = headers
  }

  onResponseData(control: UpstreamControl, chunk: Buffer): void {
    this.bytes += chunk.length
    if (this.bytes > maxResponseBytes) return control.abort(new Error("a response too large for a health check"))
    this.chunks.push(chunk)
  }

  onResponseEnd(trailers: ReadonlyArray<string>): void {
    if (this.status !== 200) return this.settle(`HTTP ${this.status}`)
    const grpcStatus = valueOf(trailers, "grpc-status") ?? valueOf(this.head, "grpc-status")
    if (grpcStatus !== "0") {
      const name = grpcStatusNames[Number(grpcStatus)] ?? "unknown code"
      return this.settle(grpcStatus === undefined ? "no grpc-status" : `grpc-status ${grpcStatus} (${name})`)
    }
    const status = servingStatusOf(Buffer.concat(this.chunks))
    if (status === serving) return this.settle(undefined)
    this.settle(typeof status === "string" ? status : servingStatusNames[status] ?? `serving status ${status}`)
  }
}

/** The probe's HTTP/2 clients, one per backend origin, kept across probes until `destroy`. */
export class GrpcHealthChecks {
  private readonly clients = new ProbeClients((backend, connectTimeoutMs) =>
    new Http2Backend(backend, { connectTimeoutMs, idleMs: probeKeepMs })
  )

  /** Succeeds when the backend is serving; fails with the reason (a string, or the error that ended the call). */
  check(backend: BackendSpec, timeoutMs: number): Effect.Effect<void, unknown> {
    return this.clients.call(backend, timeoutMs, checkPath, checkRequest(), (settle) => new CheckCall(settle))
  }

  destroy(): void {
    this.clients.destroy()
  }
}
