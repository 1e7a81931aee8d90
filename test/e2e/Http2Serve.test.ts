/**
 * HTTP/2 as a user meets it: `switchyard serve` from a file, `curl --http2` over TLS and
 * `curl --http2-prior-knowledge` in front of an HTTP/1.1 backend, a gRPC client in front of an
 * h2c backend, and the access log saying which protocol each request came in.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { echoClient, startGrpcBackend, unaryCall } from "../support/GrpcBackend.ts"
import { waitUntil } from "../support/Wait.ts"

const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname

/** Runs curl; resolves with what it printed (`-w` output last), fails if it exits non-zero. */
const curl = (args: ReadonlyArray<string>) =>
  Effect.callback<string, Error>((resume) => {
    execFile("curl", ["-sS", ...args], { timeout: 10_000 }, (error, stdout, stderr) =>
      resume(error === null ? Effect.succeed(stdout) : Effect.fail(new Error(`${error.message}\n${stderr}`))))
  })

const accessLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).filter((entry) =>
    entry.message === "request"
  )

describe("switchyard serve speaks HTTP/2", () => {
  it.live("curl --http2 (TLS) and --http2-prior-knowledge (h2c) in front of an HTTP/1.1 backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("web")
      const tls = yield* startCli([
        "serve",
        "--config",
        writeConfig(
          `server: { host: 127.0.0.1, port: 0, tls: { cert: "${fixture("cert.pem")}", key: "${fixture("key.pem")}" } }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: web, url: "${backend.url}" }]
`
        )
      ])
      const plain = yield* startCli([
        "serve",
        "--config",
        writeConfig(`server: { host: 127.0.0.1, port: 0, h2c: true }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: web, url: "${backend.url}" }]
`)
      ])
      const tlsPort = yield* listeningPort(tls)
      const plainPort = yield* listeningPort(plain)
      const overTls = yield* curl([
        "--http2",
        "--cacert",
        fixture("cert.pem"),
        "-w",
        "\n%{http_version} %{http_code}",
        `https://localhost:${tlsPort}/tls?x=1`
      ])
      assert.match(overTls, /"url":"\/tls\?x=1"/)
      assert.match(overTls, /\n2 200$/)
      const overH2c = yield* curl([
        "--http2-prior-knowledge",
        "-w",
        "\n%{http_version} %{http_code}",
        `http://127.0.0.1:${plainPort}/h2c`
      ])
      assert.match(overH2c, /\n2 200$/)
      const overHttp1 = yield* curl(["-w", "\n%{http_version} %{http_code}", `http://127.0.0.1:${plainPort}/h1`])
      assert.match(overHttp1, /\n1\.1 200$/)
      yield* waitUntil(() => accessLines(plain.stdout()).length === 2)
      assert.deepStrictEqual(
        accessLines(plain.stdout()).map((line) => [line.path, line.protocol, line.status]),
        [["/h2c", "HTTP/2", 200], ["/h1", "HTTP/1.1", 200]]
      )
      plain.child.kill("SIGTERM")
      tls.child.kill("SIGTERM")
      assert.strictEqual(yield* plain.exitCode, 0)
      assert.strictEqual(yield* tls.exitCode, 0)
    }))

  it.live("a gRPC client through serve to an h2c backend; the access log records the call's gRPC status", () =>
    Effect.gen(function*() {
      const backend = yield* startGrpcBackend("g1")
      const cli = yield* startCli([
        "serve",
        "--config",
        writeConfig(`server: { host: 127.0.0.1, port: 0, h2c: true }
admin: { host: 127.0.0.1, port: 0 }
backends: [{ name: g1, url: "${backend.url}", protocol: h2c }]
`)
      ])
      const port = yield* listeningPort(cli)
      const client = yield* echoClient(`127.0.0.1:${port}`)
      const ok = yield* unaryCall(client, "Unary", Buffer.from("hi"))
      assert.strictEqual(ok.reply?.toString(), "g1:hi")
      const failed = yield* unaryCall(client, "Fail", Buffer.from("x"))
      assert.strictEqual(failed.error?.code, 5)
      yield* waitUntil(() => accessLines(cli.stdout()).length === 2)
      assert.deepStrictEqual(
        accessLines(cli.stdout()).map((line) => [line.path, line.protocol, line.status, line.grpcStatus]),
        [["/test.Echo/Unary", "HTTP/2", 200, 0], ["/test.Echo/Fail", "HTTP/2", 404, 5]]
      )
      cli.child.kill("SIGTERM")
      assert.strictEqual(yield* cli.exitCode, 0)
    }))
})
