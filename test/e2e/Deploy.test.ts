/**
 * The deployment files (docs/deploy.md) against what they deploy. No image can be built here, so
 * the Dockerfile's runtime stage is proven by its own steps: its `npm ci` run in a copy of the
 * package, the built dist/ and the dashboard beside it, its CMD serving through two workers, its
 * HEALTHCHECK command answered, and SIGTERM ending it with 0. The Kubernetes manifest and the
 * systemd unit are read and held to the numbers that must agree: probe port and path, grace
 * periods longer than the proxy's own drain.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Result, Schema } from "effect"
import { execFile } from "node:child_process"
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseAllDocuments } from "yaml"
import { loadConfig } from "../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../src/domain/config/ConfigLoader.ts"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli } from "../support/Cli.ts"
import { send } from "../support/Http.ts"

const root = new URL("../../", import.meta.url).pathname
const read = (path: string): string => readFileSync(join(root, path), "utf8")

const load = (file: string, text: string, env: Record<string, string> = {}): Config => {
  const result = loadConfig({ file, text, env })
  return Result.isSuccess(result) ? result.success : assert.fail(result.failure.message)
}

const seconds = (duration: Duration.Duration): number => Duration.toSeconds(duration)

/** The example's grace period: the default a deployment starts from. */
const exampleGrace = seconds(load(join(root, "config.example.yaml"), read("config.example.yaml")).server.gracePeriod)

// ---- the Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string
  readonly rest: string
}

/** Instructions by stage (each `FROM` opens one), comments dropped and `\` continuations joined. */
const dockerStages = (text: string): ReadonlyArray<ReadonlyArray<Instruction>> => {
  const lines = text.replace(/\\\n\s*/g, " ").split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"))
  const stages: Array<Array<Instruction>> = []
  for (const line of lines) {
    const [keyword = "", ...rest] = line.trim().split(" ")
    const instruction = { keyword: keyword.toUpperCase(), rest: rest.join(" ") }
    if (instruction.keyword === "FROM") stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

const stages = dockerStages(read("Dockerfile"))
const runtime = stages.at(-1) ?? []
const one = (keyword: string, stage: ReadonlyArray<Instruction> = runtime): string =>
  stage.find((instruction) => instruction.keyword === keyword)?.rest ?? assert.fail(`no ${keyword}`)
const all = (keyword: string, stage: ReadonlyArray<Instruction>) =>
  stage.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.rest)

const ExecForm = Schema.Array(Schema.String)
const execForm = (text: string) => Schema.decodeUnknownSync(ExecForm)(JSON.parse(text))

const cmd = execForm(one("CMD"))
/** The HEALTHCHECK's command, after its options. */
const healthcheck = execForm(one("HEALTHCHECK").slice(one("HEALTHCHECK").indexOf("CMD ") + 4))

// ---- the Kubernetes manifest ---------------------------------------------------------------------

const Port = Schema.Union([Schema.String, Schema.Number])
const Probe = Schema.Struct({
  httpGet: Schema.optionalKey(Schema.Struct({ path: Schema.String, port: Port })),
  tcpSocket: Schema.optionalKey(Schema.Struct({ port: Port }))
})
const Container = Schema.Struct({
  command: ExecForm,
  args: ExecForm,
  ports: Schema.Array(Schema.Struct({ name: Schema.String, containerPort: Schema.Number })),
  readinessProbe: Probe,
  livenessProbe: Probe,
  lifecycle: Schema.Struct({ preStop: Schema.Struct({ exec: Schema.Struct({ command: ExecForm }) }) }),
  securityContext: Schema.Struct({ allowPrivilegeEscalation: Schema.Boolean })
})
const Manifest = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("ConfigMap"), data: Schema.Struct({ "config.yaml": Schema.String }) }),
  Schema.Struct({
    kind: Schema.Literal("Deployment"),
    spec: Schema.Struct({
      template: Schema.Struct({
        spec: Schema.Struct({
          terminationGracePeriodSeconds: Schema.Number,
          securityContext: Schema.Struct({ runAsNonRoot: Schema.Boolean, runAsUser: Schema.Number }),
          containers: Schema.Array(Container)
        })
      })
    })
  }),
  Schema.Struct({
    kind: Schema.Literal("Service"),
    spec: Schema.Struct({ ports: Schema.Array(Schema.Struct({ port: Schema.Number, targetPort: Port })) })
  })
])

const manifests = readdirSync(join(root, "deploy/kubernetes")).filter((file) => file.endsWith(".yaml")).flatMap((
  file
) =>
  parseAllDocuments(read(join("deploy/kubernetes", file))).map((document) => {
    assert.deepStrictEqual(document.errors, [], file)
    return Schema.decodeUnknownSync(Manifest)(document.toJS())
  })
)

const ofKind = <K extends (typeof Manifest.Type)["kind"]>(kind: K) =>
  manifests.filter((manifest): manifest is Extract<typeof Manifest.Type, { kind: K }> => manifest.kind === kind)

describe("deploy/kubernetes", () => {
  const [configMap] = ofKind("ConfigMap")
  const [deployment] = ofKind("Deployment")
  const [service] = ofKind("Service")
  const pod = deployment?.spec.template.spec
  const container = pod?.containers[0]
  const config = load("/etc/switchyard/config.yaml", configMap?.data["config.yaml"] ?? "", { ADMIN_TOKEN: "t" })
  const portNamed = (port: string | number) =>
    typeof port === "number" ? port : container?.ports.find((candidate) => candidate.name === port)?.containerPort

  it("holds a valid config: workers auto, the admin listener on the pod's address, limits shared in Redis", () => {
    assert.strictEqual(config.workers, "auto")
    assert.strictEqual(config.admin.host, "0.0.0.0")
    assert.strictEqual(config.admin.token, "t", "the token comes from the environment (a Secret)")
    assert.match(config.rateLimit?.store?.redis ?? "", /^redis:\/\//)
  })

  it("probes readiness on the admin /health, liveness without it, and runs the image's CMD", () => {
    assert.strictEqual(container?.readinessProbe.httpGet?.path, "/health")
    assert.strictEqual(portNamed(container?.readinessProbe.httpGet?.port ?? ""), config.admin.port)
    assert.strictEqual(portNamed(container?.livenessProbe.tcpSocket?.port ?? ""), config.admin.port)
    assert.isUndefined(container?.livenessProbe.httpGet, "a backend outage is no reason to restart the proxy")
    assert.deepStrictEqual([...(container?.command ?? []), ...(container?.args ?? [])], cmd)
    assert.strictEqual(portNamed(service?.spec.ports[0]?.targetPort ?? ""), config.server.port)
  })

  it("gives a stopping pod longer than its preStop sleep and the proxy's grace period", () => {
    const [sleep, delay] = container?.lifecycle.preStop.exec.command ?? []
    assert.strictEqual(sleep, "sleep")
    const preStop = Number(delay)
    assert.isAbove(preStop, 0)
    for (const grace of [seconds(config.server.gracePeriod), exampleGrace]) {
      assert.isAbove(pod?.terminationGracePeriodSeconds ?? 0, preStop + grace)
    }
  })

  it("runs as a user other than root, without privilege escalation", () => {
    assert.isTrue(pod?.securityContext.runAsNonRoot)
    assert.notStrictEqual(pod?.securityContext.runAsUser, 0)
    assert.isFalse(container?.securityContext.allowPrivilegeEscalation)
  })
})

describe("deploy/systemd", () => {
  const settings = new Map(
    read("deploy/systemd/switchyard.service").split("\n")
      .filter((line) => /^[A-Za-z]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])
  )

  it("serves with the bin, reloads on SIGHUP, restarts on failure, as a user of its own", () => {
    assert.match(settings.get("ExecStart") ?? "", /^switchyard serve --config \/etc\/switchyard\/config\.yaml$/)
    assert.strictEqual(settings.get("ExecReload"), "/bin/kill -HUP $MAINPID")
    assert.strictEqual(settings.get("Restart"), "on-failure")
    assert.notInclude(["", "root"], settings.get("User") ?? "")
  })

  it("waits for the proxy's grace period before killing it", () => {
    const stop = Number(/^(\d+)s$/.exec(settings.get("TimeoutStopSec") ?? "")?.[1] ?? 0)
    assert.isAbove(stop, exampleGrace)
  })
})

describe("Dockerfile", () => {
  it("builds on node:24 and runs as the node user", () => {
    assert.isTrue(stages.every((stage) => /^node:24\b/.test(one("FROM", stage))))
    assert.strictEqual(one("USER"), "node")
    assert.include(all("RUN", stages[0] ?? []), "npm run build")
  })

  it.live(
    "its runtime stage, run here: an npm ci --omit=dev copy with the built dist/ serves",
    () =>
      Effect.gen(function*() {
        const image = mkdtempSync(join(tmpdir(), "switchyard-image-"))
        for (const file of ["package.json", "package-lock.json"]) cpSync(join(root, file), join(image, file))
        const install = all("RUN", runtime).find((command) => command.startsWith("npm ci")) ?? assert.fail("no npm ci")
        yield* Effect.callback<void, Error>((resume) => {
          execFile(
            "sh",
            ["-c", install],
            { cwd: image },
            (error, _stdout, stderr) =>
              resume(error === null ? Effect.void : Effect.fail(new Error(`${install}: ${stderr}`)))
          )
        })
        for (const directory of ["dist", "assets"]) {
          cpSync(join(root, directory), join(image, directory), { recursive: true })
        }

        const backend = yield* startBackend("a")
        const config = join(image, "config.yaml")
        writeFileSync(
          config,
          `server: { host: 127.0.0.1, port: 0, gracePeriod: 5s }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
workers: 2
backends: [{ name: a, url: "${backend.url}" }]
`
        )
        const [node, script = "", ...args] = cmd
        assert.strictEqual(node, "node")
        const served = yield* startCli(args.map((arg) => arg === "/etc/switchyard/config.yaml" ? config : arg), {}, {
          script: join(image, script),
          cwd: image
        })
        yield* served.waitFor(/proxy listening on \S+ \(2 workers\)/)
        const proxy = `http://127.0.0.1:${yield* listeningPort(served)}`
        const admin = yield* listeningPort(served, "admin")

        assert.strictEqual((yield* send(proxy)).status, 200)
        assert.include((yield* send(`http://127.0.0.1:${admin}`, { path: "/" })).text, "<title>Switchyard</title>")
        const [, flag = "", check = ""] = healthcheck
        const healthy = yield* Effect.callback<number>((resume) => {
          execFile(
            process.execPath,
            [flag, check.replace(":9090/", `:${admin}/`)],
            (error) => resume(Effect.succeed(error === null ? 0 : Number(error.code ?? 1)))
          )
        })
        assert.strictEqual(healthy, 0, "the HEALTHCHECK command")
        served.child.kill("SIGTERM")
        assert.strictEqual(yield* served.exitCode, 0)
      }),
    60_000
  )
})
