/**
 * A log file's lines, one at a time, read synchronously a megabyte at a time: a day of access log
 * never sits in memory, and the lab, which pulls its arrivals as plain function calls between
 * virtual-clock steps, can read them without a fiber switch per line. This is the replay's one
 * edge to the disk (the decoding and everything after are pure, `domain/sim/replay/`).
 */
import { closeSync, openSync, readSync } from "node:fs"
import { StringDecoder } from "node:string_decoder"

const chunkBytes = 1024 * 1024

export interface LineReader {
  /** The next line (without its `\n`), or `undefined` at the end; the file closes there. */
  readonly next: () => string | undefined
  /** The 1-based number of the line `next` returned last. */
  readonly lineNumber: () => number
  /** Whether the line `next` returned last is the file's last and has no `\n` (cut short?). */
  readonly unterminated: () => boolean
  readonly close: () => void
}

/** Opens `file` (throws as `openSync` does when it cannot). */
export const openLines = (file: string): LineReader => {
  let fd: number | undefined = openSync(file, "r")
  const buffer = Buffer.allocUnsafe(chunkBytes)
  const decoder = new StringDecoder("utf8")
  let lines: Array<string> = []
  let index = 0
  let rest = ""
  let ended = false
  let number = 0
  let lastUnterminated = false

  const close = () => {
    if (fd !== undefined) closeSync(fd)
    fd = undefined
  }

  /** Reads until a whole line is there or the file ends. */
  const fill = (): void => {
    while (index >= lines.length && !ended) {
      if (fd === undefined) return
      const read = readSync(fd, buffer, 0, chunkBytes, null)
      if (read === 0) {
        ended = true
        const tail = rest + decoder.end()
        rest = ""
        lines = tail === "" ? [] : [tail]
        index = 0
        lastUnterminated = tail !== ""
        close()
        return
      }
      const text = rest + decoder.write(buffer.subarray(0, read))
      lines = text.split("\n")
      rest = lines.pop() ?? ""
      index = 0
    }
  }

  return {
    next: () => {
      fill()
      const line = lines[index]
      if (line === undefined) {
        close()
        return undefined
      }
      index++
      number++
      return line
    },
    lineNumber: () => number,
    unterminated: () => ended && lastUnterminated && index >= lines.length,
    close
  }
}
