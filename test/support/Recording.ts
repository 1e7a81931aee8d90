/**
 * A real run to replay: `switchyard serve` (the built bundle) in round-robin over three loopback
 * backends of known behaviour, `fast` (about 4 ms), `slow` (about 40 ms) and `flaky` (4 ms, dead
 * from 3 s to 6 s of the run), with a steady open-loop client; its access log (stdout) and event
 * journal are what `simulate --traffic` reads. Used by the replay's e2e test, and to make the
 * fixture of docs/simulate.md's worked example (`RECORD_REPLAY_FIXTURE=1`).
 */
import { Effect, Fiber } from "effect"
import type { Scope } from "effect"
import { writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { dirname, join } from "node:path"
import type { Handler, TestBackend } from "./Backends.ts"
import { startBackend } from "./Backends.ts"
import { listeningPort, startCli, writeConfig } from "./Cli.ts"

export interface Recording {
  readonly dir: string
  readonly traffic: string
  readonly journal: string
  readonly config: string
  /** Requests the client sent. */
  readonly sent: number
}

const answersAfter = (ms: number): Handler => (incoming, response) => {
  incoming.resume()
  incoming.on("end", () => setTimeout(() => response.end("ok"), ms))
}

const stop = (backend: TestBackend) =>
  Effect.sync(() => {
    backend.server.close()
    backend.server.closeAllConnections()
  })

const restart = (backend: TestBackend, port: number) =>
  Effect.callback<void>((resume) => {
    backend.server.listen(port, "127.0.0.1", () => resume(Effect.void))
  })

/** `rate` GETs a second for `durationMs`, each on its own schedule (an open loop), all answered or failed. */
const drive = (port: number, rate: number, durationMs: number) =>
  Effect.promise(() => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    const total = Math.round((rate * durationMs) / 1000)
    const started = Date.now()
    let done = 0
    return new Promise<number>((resolve) => {
      const finished = () => {
        done++
        if (done === total) {
          agent.destroy()
          resolve(total)
        }
      }
      for (let i = 0; i < total; i++) {
        setTimeout(() => {
          const outgoing = request({ host: "127.0.0.1", port, path: `/items/${i % 50}`, agent }, (response) => {
            response.resume()
            response.on("end", finished)
          })
          outgoing.on("error", finished)
          outgoing.end()
        }, started + (i * 1000) / rate - Date.now())
      }
    })
  })

export const record = (options: { readonly rate: number; readonly durationMs: number }): Effect.Effect<
  Recording,
  Error,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const fast = yield* startBackend("fast", answersAfter(4))
    const slow = yield* startBackend("slow", answersAfter(40))
    const flaky = yield* startBackend("flaky", answersAfter(4))
    const flakyPort = flaky.port
    const config = writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
strategy: round-robin
backends:
  - { name: fast, url: "${fast.url}" }
  - { name: slow, url: "${slow.url}" }
  - { name: flaky, url: "${flaky.url}" }
healthCheck: { interval: 250ms, timeout: 200ms, unhealthyThreshold: 2, healthyThreshold: 1 }
circuitBreaker: { failureThreshold: 3, resetTimeout: 2s }
retry: { attempts: 2 }
logging: { level: info, format: json, access: true }
journal: ./journal.jsonl
`)
    const dir = dirname(config)
    const cli = yield* startCli(["serve", "--config", config])
    const port = yield* listeningPort(cli)
    const client = yield* Effect.forkChild(drive(port, options.rate, options.durationMs))
    yield* Effect.sleep("3 seconds")
    yield* stop(flaky)
    yield* Effect.sleep("3 seconds")
    yield* restart(flaky, flakyPort)
    const sent = yield* Fiber.join(client)
    cli.child.kill("SIGTERM")
    const code = yield* cli.exitCode
    if (code !== 0) return yield* Effect.fail(new Error(`serve exited ${code}: ${cli.stderr()}`))
    const traffic = join(dir, "traffic.jsonl")
    writeFileSync(traffic, cli.stdout())
    return { dir, traffic, journal: join(dir, "journal.jsonl"), config, sent }
  })
