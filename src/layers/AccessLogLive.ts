/**
 * The access log: with `logging.format: json`, each record becomes its JSON line at once
 * (`AccessLogLine`), encoded straight into a pending batch of bytes, written to stdout 50 ms after
 * its first line or as soon as the batch is full, cut into line-aligned writes that a shared pipe
 * keeps whole (several workers may write to one). A line per request would otherwise be a write
 * per request, or a logger's general formatting per record. With `logging.format: pretty` (a
 * terminal) each record is logged through Effect's logger when its request ends. With
 * `logging.access: false`, or a level above `info`, nothing is logged.
 *
 * Why bytes and not a string: lines appended to one string make a rope of thousands of pieces
 * that outlives a few young-generation collections (each copies it) and is then flattened and
 * encoded whole; together that cost several microseconds per request (docs/performance.md). Each
 * line encoded as it is made dies young, and its bytes are copied once.
 *
 * When stdout is behind by more than the backlog (a burst larger than it, faster than stdout
 * takes it), new records are dropped rather than requests delayed; the number dropped is logged
 * as a warning. At shutdown (after the listeners drained) what is pending is written before the
 * scope ends.
 */
import { Effect, Layer } from "effect"
import { fstatSync } from "node:fs"
import { accessLogLine, atomicPipeWriteBytes, lineAlignedWrites, prettyAccessLine } from "../domain/AccessLogLine.ts"
import { AccessLog } from "../services/AccessLog.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

/** Bytes a batch holds: a batch that fills is written without waiting for its timer. */
const batchBytes = 64 * 1024

/** Bytes pending (in the batch and in stdout's own buffer) before records are dropped (about 16k lines). */
const backlogBytes = 4 * 1024 * 1024

const flushEveryMs = 50

/** Whether stdout is a regular file, which takes a batch in one write without interleaving lines. */
const stdoutIsFile = (): boolean => {
  try {
    return fstatSync(1).isFile()
  } catch {
    return false
  }
}

export const AccessLogLive = Layer.effect(
  AccessLog,
  Effect.gen(function*() {
    const { logging } = yield* ProxyConfig
    const noop = AccessLog.of({ append: () => undefined })
    if (!logging.access || logging.level === "warn" || logging.level === "error") return noop
    if (logging.format === "pretty") {
      // A terminal: a line as each request ends, through the logger that formats every other line.
      const logNow = Effect.runSyncWith(yield* Effect.context())
      return AccessLog.of({ append: (record) => logNow(Effect.logInfo(prettyAccessLine(record))) })
    }
    const writeLimit = stdoutIsFile() ? Number.POSITIVE_INFINITY : atomicPipeWriteBytes
    const warn = Effect.runForkWith(yield* Effect.context())
    const stdout = process.stdout
    let batch = Buffer.allocUnsafeSlow(batchBytes)
    let used = 0
    let dropped = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    const writeBatch = () => {
      if (used === 0) return
      for (const piece of lineAlignedWrites(batch.subarray(0, used), writeLimit)) stdout.write(piece)
      used = 0
      // A write stdout could not finish at once holds on to the batch's bytes until it does.
      if (stdout.writableLength > 0 || batch.length !== batchBytes) batch = Buffer.allocUnsafeSlow(batchBytes)
    }
    const flush = () => {
      timer = undefined
      writeBatch()
      if (dropped === 0) return
      warn(Effect.logWarning(`access log: ${dropped} records dropped (the log could not keep up)`))
      dropped = 0
    }
    // At shutdown (after the listeners drained) what is pending is written before the scope ends.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        clearTimeout(timer)
        flush()
      })
    )
    return AccessLog.of({
      append: (record) => {
        // A timer only while lines wait: an idle proxy wakes for nothing.
        timer ??= setTimeout(flush, flushEveryMs).unref()
        if (used + stdout.writableLength >= backlogBytes) return void dropped++
        const line = accessLogLine(record)
        // 3 UTF-8 bytes per character at most: a line that may not fit goes in the next batch.
        if (used + line.length * 3 > batch.length) {
          writeBatch()
          // A line longer than any batch (a huge path) is a batch of its own.
          if (line.length * 3 > batch.length) batch = Buffer.allocUnsafeSlow(line.length * 3)
        }
        used += batch.write(line, used)
      }
    })
  })
)
