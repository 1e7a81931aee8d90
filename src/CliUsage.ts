/**
 * How the command line answers a usage error (an unknown command or flag, a missing argument, a
 * bad flag value): one line on stderr, naming the command, what was wrong, a "did you mean" when
 * something close exists, and where the usage is. The CLI library's own answer prints the whole
 * help on stdout and the error as a block on stderr: a script's log then holds a page of help,
 * and its stdout text it never asked for.
 */
import { Console } from "effect"
import { CliOutput } from "effect/cli"
import type { CliError } from "effect/cli"

const didYouMean = (suggestions: ReadonlyArray<string>): string =>
  suggestions.length === 0 ? "" : ` (did you mean ${suggestions.join(" or ")}?)`

/** The library's first line of a message (its suggestions come on lines of their own), lower case. */
const firstLine = (message: string): string => {
  const line = message.split("\n")[0] ?? message
  return line.charAt(0).toLowerCase() + line.slice(1)
}

const describeError = (error: CliError.NonShowHelpErrors): string => {
  switch (error._tag) {
    case "UnrecognizedOption":
      return `unknown flag ${error.option}${didYouMean(error.suggestions)}`
    case "UnknownSubcommand":
      return `unknown command "${error.subcommand}"${didYouMean(error.suggestions.map((name) => `"${name}"`))}`
    default:
      return firstLine(error.message)
  }
}

/** `switchyard serve: unknown flag --confg (did you mean --config?); see switchyard serve --help` */
export const usageLine = (
  commandPath: ReadonlyArray<string>,
  errors: ReadonlyArray<CliError.NonShowHelpErrors>
): string => {
  const command = commandPath.join(" ")
  return `${command}: ${errors.map(describeError).join("; ")}; see ${command} --help`
}

/** Help and the version as the library shows them; a usage error as one line. */
export const CliUsageLive = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(usageLine(event.commandPath, event.errors))
      : CliOutput.defaultPresenter.present(event)
})
