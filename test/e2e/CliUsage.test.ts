/**
 * The command line's habits, as a shell user and a CI job meet them: help for every command, one
 * line on stderr and exit 1 for every usage error, shell completion, and `check --format json`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { runCli, writeConfig } from "../support/Cli.ts"

const commands = ["serve", "check", "demo", "replay", "simulate", "completion"]

/** What bash's completion offers for `line` (the cursor at its end), with the script sourced. */
const bashCompletes = (script: string, line: string): Array<string> => {
  const words = line.split(" ")
  const program = `source ${writeConfig(script, "switchyard.bash")}
COMP_WORDS=(${words.map((word) => `"${word}"`).join(" ")}); COMP_CWORD=${words.length - 1}
COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}
_switchyard; printf '%s\\n' "\${COMPREPLY[@]}"`
  return execFileSync("bash", ["-c", program], { encoding: "utf8" }).split("\n").filter((w) => w !== "")
}

describe("switchyard usage", () => {
  it.live("every command answers --help on stdout with its usage and exits 0", () =>
    Effect.gen(function*() {
      for (const command of commands) {
        const help = yield* runCli([command, "--help"])
        assert.strictEqual(help.code, 0, command)
        assert.include(help.stdout, `switchyard ${command}`, command)
        assert.include(help.stdout, "DESCRIPTION", command)
        assert.strictEqual(help.stderr, "", command)
      }
    }))

  it.live("serve --help names the default config file", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["serve", "--help"])
      assert.match(help.stdout, /--config, -c .*\(default: \.\/config\.yaml\)/)
    }))

  it.live("the help offers only --help and --version globally, and lists every command", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["--help"])
      assert.strictEqual(help.code, 0)
      for (const command of commands) assert.match(help.stdout, new RegExp(`^  ${command} `, "m"))
      for (const absent of ["--log-level", "--wizard", "--completions"]) assert.notInclude(help.stdout, absent)
    }))

  it.live("no command at all prints the help and exits 1", () =>
    Effect.gen(function*() {
      const bare = yield* runCli([])
      assert.strictEqual(bare.code, 1)
      assert.include(bare.stdout, "SUBCOMMANDS")
      assert.strictEqual(bare.stderr, "")
    }))

  const usageErrors: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["serv"], `switchyard: unknown command "serv" (did you mean "serve"?); see switchyard --help`],
    [
      ["serve", "--confg", "x.yaml"],
      "switchyard serve: unknown flag --confg (did you mean --config?); see switchyard serve --help"
    ],
    [["check", "--verbose"], "switchyard check: unknown flag --verbose; see switchyard check --help"],
    [["replay"], "switchyard replay: missing required argument: file; see switchyard replay --help"],
    [
      ["replay", "a.jsonl", "b.jsonl"],
      `switchyard replay: unexpected positional argument: "b.jsonl"; see switchyard replay --help`
    ],
    [
      ["simulate"],
      "switchyard simulate: missing required flag: --scenario (or --traffic); see switchyard simulate --help"
    ],
    [
      ["simulate", "--scenario", "s.yaml", "--traffic", "t.jsonl"],
      "switchyard simulate: --scenario and --traffic: give one, not both; see switchyard simulate --help"
    ],
    [
      ["simulate", "--scenario", "s.yaml", "--journal", "j.jsonl"],
      "switchyard simulate: --journal, --config and --variants go with --traffic; see switchyard simulate --help"
    ],
    [
      ["serve", "-c"],
      "switchyard serve: missing value for flag --config. Expected: string; see switchyard serve --help"
    ],
    [
      ["check", "--format", "yaml"],
      `switchyard check: invalid value for flag --format: "yaml". Expected: "text" | "json"; see switchyard check --help`
    ],
    [
      ["completion", "tcsh"],
      `switchyard completion: invalid value for argument <shell>: "tcsh". Expected: "bash" | "zsh" | "fish" | "powershell"; see switchyard completion --help`
    ]
  ]

  it.live("every usage error is one line on stderr, nothing on stdout, and exit 1", () =>
    Effect.gen(function*() {
      for (const [args, line] of usageErrors) {
        const result = yield* runCli(args)
        assert.strictEqual(result.code, 1, args.join(" "))
        assert.strictEqual(result.stderr, `${line}\n`)
        assert.strictEqual(result.stdout, "", args.join(" "))
      }
    }))

  it.live("a flag value that is not a number is a usage error too", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["simulate", "--scenario", "s.yaml", "--seed", "abc"])
      assert.strictEqual(result.code, 1)
      assert.match(
        result.stderr,
        /^switchyard simulate: invalid value for flag --seed: "abc"\. [^\n]+; see switchyard simulate --help\n$/
      )
    }))
})

describe("switchyard completion", () => {
  it.live("the bash script completes commands, flags and a flag's choices", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["completion", "bash"])
      assert.strictEqual(result.code, 0)
      assert.deepStrictEqual(bashCompletes(result.stdout, "switchyard se"), ["serve"])
      assert.deepStrictEqual(bashCompletes(result.stdout, "switchyard check --"), ["--config", "--format"])
      assert.deepStrictEqual(bashCompletes(result.stdout, "switchyard check --format "), ["text", "json"])
      assert.deepStrictEqual(bashCompletes(result.stdout, "switchyard completion "), [
        "bash",
        "zsh",
        "fish",
        "powershell"
      ])
    }))

  it.live("zsh and fish get scripts of their own", () =>
    Effect.gen(function*() {
      const zsh = yield* runCli(["completion", "zsh"])
      assert.match(zsh.stdout, /^#compdef switchyard/)
      const fish = yield* runCli(["completion", "fish"])
      assert.include(fish.stdout, "complete -c switchyard")
    }))
})

describe("switchyard check --format json", () => {
  it.live("a valid config: { valid: true, config } on stdout with the defaults filled in, exit 0", () =>
    Effect.gen(function*() {
      const file = writeConfig("backends:\n  - url: http://127.0.0.1:9001\ntimeouts: { connect: 1500ms }\n")
      const result = yield* runCli(["check", "--format", "json", "--config", file])
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stderr, "")
      const document = JSON.parse(result.stdout)
      assert.strictEqual(document.valid, true)
      assert.strictEqual(document.config.server.maxBodySize, "10MiB")
      assert.strictEqual(document.config.timeouts.connect, "1500ms")
      assert.deepStrictEqual(document.config.backends, [{
        url: "http://127.0.0.1:9001",
        name: "127.0.0.1:9001",
        weight: 1
      }])
    }))

  it.live("an invalid config: every problem with its file, line, column, path and message, exit 1", () =>
    Effect.gen(function*() {
      const file = writeConfig("server:\n  port: -1\nbackends:\n  - url: http://a:1\n    weight: many\n")
      const result = yield* runCli(["check", "--format", "json", "--config", file], { LB_STRATEGY: "rr" })
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr, "")
      assert.deepStrictEqual(JSON.parse(result.stdout), {
        valid: false,
        problems: [
          {
            file,
            path: "strategy",
            message: `Expected "round-robin" | "weighted-round-robin" | "random" | "weighted-random" | ` +
              `"least-connections" | "least-ewma" | "least-dynamic-score" | "p2c-ewma" | "ip-hash" | "consistent-hash", got "rr"`,
            envVar: "LB_STRATEGY"
          },
          { file, path: "server.port", message: "Expected a value between 0 and 65535, got -1", line: 2, column: 9 },
          { file, path: "backends[0].weight", message: `Expected number, got "many"`, line: 5, column: 13 }
        ]
      })
    }))

  it.live("a file that cannot be read is a problem of the document as a whole", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["check", "--format", "json", "--config", "/nonexistent/switchyard.yaml"])
      assert.strictEqual(result.code, 1)
      const document = JSON.parse(result.stdout)
      assert.strictEqual(document.valid, false)
      assert.strictEqual(document.problems.length, 1)
      assert.include(document.problems[0], { file: "/nonexistent/switchyard.yaml", path: "" })
      assert.match(document.problems[0].message, /^cannot read the file: ENOENT/)
    }))
})
