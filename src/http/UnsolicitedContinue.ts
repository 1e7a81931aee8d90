/**
 * Unsolicited `100 Continue` from a backend, removed before undici reads it.
 *
 * The proxy never forwards `Expect` (it answers the client's `100-continue` itself), so any `100`
 * a backend sends is unsolicited. RFC 9110 §15.2 says a client must be able to parse and ignore
 * one, but undici's HTTP/1 parser destroys the connection on a `100` (`SocketError: bad response`)
 * and the client would get a `502` for an answer the backend did give. Its parser cannot be told
 * to skip it, so the connection itself hides it: each upstream socket is watched for the first
 * bytes of every response, and complete `HTTP/1.x 100 ...\r\n\r\n` heads found there (headers
 * included) are cut before undici's `socket.read()` returns them. Other interim heads (`102`,
 * `103`) pass untouched, and a `100` after them is cut too.
 *
 * Where a response starts: undici (pipelining 1) writes a request head as one latin1 string
 * beginning with the method; body chunks are buffers and chunked framing strings begin with CRLF.
 * So a string write not beginning with CR marks "the next bytes read start a response". The
 * first chunk read after it is examined, and only that one unless it holds nothing but interim
 * heads (or the start of one, held back until the rest arrives).
 *
 * Cost: per write a `typeof` and one char code; per read one flag test; per response one check
 * of byte 9 of its first chunk (`'2'` in `HTTP/1.1 200`) and the 9 bytes before it. No stream in
 * the data path, no copy unless a `100` is actually cut.
 */
import type { Socket } from "node:net"

/** What the watch knows between two reads of one connection. */
export interface ContinueScan {
  /** The next bytes read start a response: a request head was just written. */
  atHead: boolean
  /** The start of an interim head whose end has not arrived, held back from undici. */
  held: Buffer | undefined
}

/** An interim head longer than this is not ours to judge: undici gets it and its header limit. */
const maxInterimHeadBytes = 64 * 1024

/** `HTTP/1.x 1`: the status line of an interim response; byte 7 (the minor version) is any digit. */
const interimPrefix = Buffer.from("HTTP/1.x 1", "latin1")
const headEnd = Buffer.from("\r\n\r\n", "latin1")
const statusDigit = 9

/** Whether `data` at `pos` starts an interim head: `undefined` when too few bytes are there to tell. */
const startsInterim = (data: Buffer, pos: number): boolean | undefined => {
  // The shortcut that every final response takes: its status starts with 2-5, not 1.
  if (data.length > pos + statusDigit && data[pos + statusDigit] !== 0x31) return false
  const n = Math.min(data.length - pos, interimPrefix.length)
  for (let i = 0; i < n; i++) {
    if (i !== 7 && data[pos + i] !== interimPrefix[i]) return false
  }
  return n === interimPrefix.length ? true : undefined
}

/** `100` followed by the reason's space or the line's CR. */
const isContinue = (data: Buffer, pos: number): boolean =>
  data[pos + 10] === 0x30 && data[pos + 11] === 0x30 && (data[pos + 12] === 0x20 || data[pos + 12] === 0x0d)

const isSwitch = (data: Buffer, pos: number): boolean => data[pos + 10] === 0x30 && data[pos + 11] === 0x31

/**
 * The bytes of `chunk` undici may read, with every complete `100` head at the start of the
 * response cut out; `null` when none are left yet. Call it only while `scan.atHead`; it clears
 * `atHead` once the final response (or anything not an interim head) begins, and holds back the
 * start of an interim head cut short by the end of the chunk.
 */
export const stripContinue = (scan: ContinueScan, chunk: Buffer): Buffer | null => {
  if (scan.held === undefined && startsInterim(chunk, 0) === false) {
    scan.atHead = false
    return chunk
  }
  const data = scan.held === undefined ? chunk : Buffer.concat([scan.held, chunk])
  scan.held = undefined
  const kept: Array<Buffer> = []
  let keptFrom = 0
  let limit = data.length
  let pos = 0
  while (pos < data.length) {
    const interim = startsInterim(data, pos)
    // A `101` ends HTTP on the connection: what follows it is another protocol's, never a head.
    if (interim === false || (interim && isSwitch(data, pos))) {
      scan.atHead = false
      break
    }
    const end = interim === undefined ? -1 : data.indexOf(headEnd, pos)
    if (end === -1) {
      if (data.length - pos > maxInterimHeadBytes) {
        scan.atHead = false
        break
      }
      scan.held = data.subarray(pos)
      limit = pos
      break
    }
    const next = end + headEnd.length
    if (isContinue(data, pos)) {
      if (pos > keptFrom) kept.push(data.subarray(keptFrom, pos))
      keptFrom = next
    }
    pos = next
  }
  if (limit > keptFrom) kept.push(data.subarray(keptFrom, limit))
  return kept.length === 0 ? null : kept.length === 1 ? (kept[0] ?? null) : Buffer.concat(kept)
}

/**
 * Watches `socket`, a fresh upstream connection undici is about to use, so that its reads never
 * return an unsolicited `100` head. Call it before handing the socket to undici.
 */
export const stripUnsolicitedContinue = (socket: Socket): void => {
  const scan: ContinueScan = { atHead: false, held: undefined }
  const write = socket.write.bind(socket)
  const read = socket.read.bind(socket)
  socket.write = function(chunk: unknown): boolean {
    if (typeof chunk === "string" && chunk.charCodeAt(0) !== 0x0d) {
      scan.atHead = true
      scan.held = undefined
    }
    return Reflect.apply(write, undefined, arguments)
  }
  socket.read = (size?: number): Buffer | null => {
    const chunk: Buffer | null = read(size)
    return chunk === null || !scan.atHead ? chunk : stripContinue(scan, chunk)
  }
}
