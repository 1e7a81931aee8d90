/**
 * `switchyard replay FILE`: reads an event journal, folds it with the proxy's own `evolve`, and
 * prints each backend's story: when it joined, when and why its health and circuit changed, and
 * where it ended. `--format json` prints the same for tools.
 *
 * A last line cut short (the process died mid-write) is skipped with a warning; any other line
 * that is not an event is an error naming its line, and nothing is printed.
 */
import { Console, Effect, Result, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { BackendEvent } from "../domain/BackendEvent.ts"
import { JournalError } from "../domain/Errors.ts"
import { replay } from "../domain/Timeline.ts"
import type { Replay, TimelineEntry } from "../domain/Timeline.ts"

const decode = Schema.decodeUnknownResult(Schema.fromJsonString(BackendEvent))

export interface ParsedJournal {
  readonly events: ReadonlyArray<BackendEvent>
  readonly problems: ReadonlyArray<string>
  readonly truncatedTail: boolean
}

export const parseJournal = (text: string): ParsedJournal => {
  const lines = text.split("\n")
  const last = lines.length - 1
  const events: Array<BackendEvent> = []
  const problems: Array<string> = []
  let truncatedTail = false
  lines.forEach((line, index) => {
    if (line.trim() === "") return
    const event = decode(line)
    if (Result.isSuccess(event)) events.push(event.success)
    else if (index === last) truncatedTail = true
    else problems.push(`line ${index + 1}: not a backend event (${event.failure.message.split("\n")[0]})`)
  })
  return { events, problems, truncatedTail }
}

const iso = (at: number) => new Date(at).toISOString()

const describeEntry = (entry: TimelineEntry): string =>
  entry.kind === "membership"
    ? `${iso(entry.at)}  ${entry.to === "member" ? `joined (${entry.reason})` : `left: ${entry.to} (${entry.reason})`}`
    : `${iso(entry.at)}  ${entry.kind.padEnd(7)} ${entry.from} -> ${entry.to}: ${entry.reason}`

export const renderText = (file: string, events: ReadonlyArray<BackendEvent>, result: Replay): string => {
  const first = events[0]
  const last = events[events.length - 1]
  const span = first === undefined || last === undefined ? "" : `, ${iso(first.at)} to ${iso(last.at)}`
  const names = [...new Set(result.timeline.map((entry) => entry.backend))]
  const sections = names.map((name) => {
    const state = result.states.get(name)
    const now = state === undefined
      ? "now: gone"
      : `now: ${state.removed ? "draining, " : ""}${state.healthy ? "healthy" : "unhealthy"}, circuit ${
        state.circuit._tag === "Open"
          ? `open until ${iso(state.circuit.until)}`
          : state.circuit._tag === "HalfOpen"
          ? "half-open"
          : "closed"
      }`
    const lines = result.timeline.filter((entry) => entry.backend === name).map(describeEntry)
    return [name, ...lines.map((line) => `  ${line}`), `  ${now}`].join("\n")
  })
  const heading = `journal ${file}: ${events.length} events, ${names.length} backends${span}`
  return [heading, "", sections.join("\n\n")].join("\n")
}

export const renderJson = (events: ReadonlyArray<BackendEvent>, result: Replay): string =>
  JSON.stringify(
    {
      events: events.length,
      backends: [...new Set(result.timeline.map((entry) => entry.backend))].map((name) => {
        const state = result.states.get(name)
        return {
          name,
          final: state === undefined
            ? null
            : { healthy: state.healthy, circuit: state.circuit._tag, removed: state.removed },
          timeline: result.timeline.filter((entry) => entry.backend === name).map((entry) => ({
            ...entry,
            at: iso(entry.at)
          }))
        }
      })
    },
    null,
    2
  )

export const replayJournal = (file: string, format: "text" | "json") =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (error) =>
        new JournalError({ path: file, message: error instanceof Error ? error.message : String(error) })
    })
    const parsed = parseJournal(text)
    if (parsed.problems.length > 0) {
      return yield* new JournalError({ path: file, message: parsed.problems.join("\n") })
    }
    if (parsed.truncatedTail) yield* Console.error(`${file}: the last line is incomplete and was skipped`)
    const result = replay(parsed.events)
    yield* Console.log(format === "json" ? renderJson(parsed.events, result) : renderText(file, parsed.events, result))
  })
