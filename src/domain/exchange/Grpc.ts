/**
 * What the proxy needs to know about gRPC, as plain functions: a call's deadline (`grpc-timeout`),
 * the gRPC status of an answer the proxy gives itself, and the HTTP status a call's gRPC status
 * stands for — so that metrics, the access log, the breaker and outlier detection see a failed
 * call as the failure it is, although gRPC puts `200` on the wire for every call.
 *
 * The two mappings are gRPC's own documents (`doc/http-grpc-status-mapping.md`, for answers
 * without a gRPC status) and Envoy's `grpcToHttpStatus` (for calls that have one).
 */
import type { Answer } from "./Statuses.ts"

/** gRPC status codes the proxy itself sends. */
export const grpcCodes = {
  ok: 0,
  unknown: 2,
  deadlineExceeded: 4,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
  unimplemented: 12
} as const

const unitMs: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001
}

/**
 * A call's deadline in milliseconds from its `grpc-timeout` header: at most 8 digits and a unit
 * (`H`ours, `M`inutes, `S`econds, `m`illi-, `u`micro-, `n`anoseconds). `undefined` when absent or
 * malformed (gRPC servers ignore a malformed one too).
 */
export const grpcTimeoutMs = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const match = /^(\d{1,8})([HMSmun])$/.exec(value)
  if (match === null) return undefined
  return Number(match[1]) * (unitMs[match[2] ?? ""] ?? 0)
}

/** The gRPC status of an answer of the proxy's own (a refusal, a failed backend, the deadline). */
export const grpcStatusOfAnswer = (status: number): number => {
  switch (status) {
    case 413:
    case 429:
      return grpcCodes.resourceExhausted
    case 415:
      return grpcCodes.internal
    case 502:
    case 503:
      return grpcCodes.unavailable
    case 504:
      return grpcCodes.deadlineExceeded
    default:
      return status >= 500 ? grpcCodes.unavailable : grpcCodes.internal
  }
}

const httpOfGrpc: ReadonlyArray<number> = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401 // UNAUTHENTICATED
]

/**
 * The HTTP status a call's `grpc-status` stands for; a call whose backend sent none, or one out
 * of range, is `500` (gRPC clients take a missing status as `UNKNOWN`/`INTERNAL`).
 */
export const httpStatusOfGrpc = (grpcStatus: string | undefined): number => {
  if (grpcStatus === undefined || !/^\d{1,2}$/.test(grpcStatus)) return 500
  return httpOfGrpc[Number(grpcStatus)] ?? 500
}

/**
 * `grpc-message` is percent-encoded (gRPC's wire spec): everything outside printable ASCII, and
 * `%` itself.
 */
export const encodeGrpcMessage = (message: string): string =>
  Array.from(
    Buffer.from(message, "utf8"),
    (byte) =>
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("")

/** The trailers-only answer's gRPC fields for an answer of the proxy's own. */
export const grpcAnswer = (answer: Answer): { readonly status: number; readonly message: string } => ({
  status: grpcStatusOfAnswer(answer.status),
  message: encodeGrpcMessage(answer.message)
})
