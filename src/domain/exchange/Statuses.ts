/**
 * Every status the proxy chooses itself, and why: the one table from what happened to what the
 * client is told. A status the backend gave is relayed as it is and is not chosen here.
 *
 * | what happened                              | status | nginx equivalent                           |
 * | ------------------------------------------ | ------ | ------------------------------------------ |
 * | malformed request                          | 400    | 400                                        |
 * | request head over `maxHeaderSize`          | 431    | 400 ("Request Header Or Cookie Too Large") |
 * | head not complete within `timeouts.headers`| 408    | 408 (`client_header_timeout`, no answer)   |
 * | body over `maxBodySize`                    | 413    | 413 (`client_max_body_size`)               |
 * | transfer coding other than chunked         | 501    | 501                                        |
 * | HTTP major version other than 1            | 505    | 505                                        |
 * | a gRPC call over HTTP/1.x                  | 415    | 415 (`grpc_pass` needs HTTP/2 too)         |
 * | client over its rate limit                 | 429    | 503 by default (`limit_req_status`)        |
 * | no eligible backend                        | 503    | 502 ("no live upstreams"); 503 is clearer  |
 * | connect refused / reset                    | 502    | 502                                        |
 * | unparsable or badly framed response        | 502    | 502                                        |
 * | connect or response timeout                | 504    | 504                                        |
 * | the client left before the response ended  | 499    | 499 (logged only, never sent)              |
 */
import type { FailureOutcome } from "./Attempt.ts"

export interface Answer {
  readonly status: number
  readonly message: string
}

/** Why the proxy refused a request before any backend heard of it. */
export type Refusal =
  | "malformed"
  | "head-too-large"
  | "head-timeout"
  | "body-too-large"
  | "unsupported-coding"
  | "unsupported-version"
  | "grpc-needs-http2"
  | "rate-limited"
  | "no-backend"

const refusalStatus = {
  "malformed": 400,
  "head-too-large": 431,
  "head-timeout": 408,
  "body-too-large": 413,
  "unsupported-coding": 501,
  "unsupported-version": 505,
  "grpc-needs-http2": 415,
  "rate-limited": 429,
  "no-backend": 503
} as const satisfies Record<Refusal, number>

export const refusalStatusOf = <R extends Refusal>(refusal: R): (typeof refusalStatus)[R] => refusalStatus[refusal]

/** nginx's "client closed request": recorded when the client left, never sent. */
export const clientClosedStatus = 499

/** The answer to a client whose request failed upstream before any response header was sent. */
export const failureAnswer = (outcome: FailureOutcome, maxBodySize: number): Answer => {
  switch (outcome) {
    case "timeout":
      return { status: 504, message: "the backend did not answer in time" }
    case "body-too-large":
      return {
        status: refusalStatus["body-too-large"],
        message: `the request body is larger than ${maxBodySize} bytes`
      }
    case "bad-response":
      return { status: 502, message: "the backend sent an invalid response" }
    case "connect-failed":
      return { status: 502, message: "the backend could not be reached" }
    case "aborted":
    case "reset":
    case "server-error":
    case "overloaded":
    case "throttled":
    case "success":
      return { status: 502, message: "the backend closed the connection" }
  }
}

export const noBackendAnswer: Answer = { status: refusalStatus["no-backend"], message: "no backend is available" }

export const rateLimitedAnswer: Answer = {
  status: refusalStatus["rate-limited"],
  message: "too many requests from this client"
}
