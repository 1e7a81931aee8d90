/**
 * Node's own HTTP/1 parser (llhttp, the one `node:http` uses for both its server and client),
 * loaded from the internal module that exports it (`_http_common`, public since Node's first
 * releases and loaded without a warning). It is native code: a response head is parsed without
 * JavaScript reading a byte, and its headers arrive as one flat `[name, value, ...]` array.
 *
 * The shape below is what `node:http` itself relies on (lib/_http_common.js, lib/_http_client.js):
 * callbacks stored at numbered slots, `execute` per chunk read, `finish` at the end of the stream.
 */
import { createRequire } from "node:module"

/** What `kOnHeadersComplete` may return: go on with the body, or skip it (a response to `HEAD`). */
export type AfterHead = 0 | 1

export interface ResponseParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  /** Bytes parsed, or the parse error (its `code` is llhttp's, `HPE_...`). */
  execute(data: Buffer): number | Error
  /** The stream ended: completes a body delimited by the end, or says what was cut short. */
  finish(): undefined | Error
  close(): void
  /** Parses what the stream behind `handle` reads, as it reads it (`SocketReads.ts`); `kOnExecute` gets each result. */
  consume(handle: object): void
  unconsume(): void
  /** The callbacks, at the numbered slots below (`kOnHeaders`, ...). */
  [slot: number]: unknown
}

interface ParserModule {
  readonly HTTPParser: {
    new(): ResponseParser
    readonly RESPONSE: number
    readonly kOnHeaders: number
    readonly kOnHeadersComplete: number
    readonly kOnBody: number
    readonly kOnMessageComplete: number
    readonly kOnMessageBegin: number
    readonly kOnExecute: number
    readonly kLenientNone: number
  }
}

// The one unchecked step: Node's internal module has no type declarations.
const { HTTPParser } = createRequire(import.meta.url)("_http_common") as ParserModule

export const {
  kLenientNone,
  kOnBody,
  kOnExecute,
  kOnHeaders,
  kOnHeadersComplete,
  kOnMessageBegin,
  kOnMessageComplete
} = HTTPParser

/** A strict parser for responses; `maxHeaderSize` 0 means Node's default (16 KiB). */
export const responseParser = (maxHeaderSize: number): ResponseParser => {
  const parser = new HTTPParser()
  parser.initialize(HTTPParser.RESPONSE, {}, maxHeaderSize, HTTPParser.kLenientNone)
  return parser
}
