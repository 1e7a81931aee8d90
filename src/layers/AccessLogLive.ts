/**
 * The access log: with `logging.format: json`, each record becomes its JSON line at once
 * (`AccessLogLine`), appended to a pending batch, written to stdout 50 ms after its first line,
 * cut into line-aligned writes that a shared pipe keeps whole (several workers may write to one).
 * A line per request would otherwise be a write per request, or a logger's general formatting
 * per record. With `logging.format: pretty` (a terminal) each record is logged through Effect's
 * logger when its request ends. With `logging.access: false`, or a level above `info`, nothing is logged.
 *
 * When the pending batch is full (a burst larger than it, faster than stdout takes it) new
 * records are dropped rather than requests delayed; the number dropped is logged as a warning.
 * At shutdown (after the listeners drained) what is pending is written before the scope ends.
 */
import { Effect, Layer } from "effect"
import { fstatSync } from "node:fs"
import { accessLogLine, atomicPipeWriteBytes, lineAlignedWrites, prettyAccessLine } from "../domain/AccessLogLine.ts"
import { AccessLog } from "../services/AccessLog.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

/** Characters pending before records are dropped (about 16k lines). */
const capacityChars = 4 * 1024 * 1024

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
    let pending = ""
    let dropped = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    /** A batch that fits one write whatever its characters (3 UTF-8 bytes each at most) goes as it is. */
    const write = (batch: string) => {
      if (batch.length * 3 <= writeLimit) process.stdout.write(batch)
      else for (const piece of lineAlignedWrites(Buffer.from(batch, "utf8"), writeLimit)) process.stdout.write(piece)
    }
    const flush = () => {
      timer = undefined
      if (pending !== "") write(pending)
      pending = ""
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
        if (pending.length < capacityChars) pending += accessLogLine(record)
        else dropped++
        // A timer only while lines wait: an idle proxy wakes for nothing.
        timer ??= setTimeout(flush, flushEveryMs).unref()
      }
    })
  })
)
