/**
 * TLS termination over real loopback sockets, with the self-signed fixture certificate
 * (`test/fixtures/tls`, CN=localhost, SAN localhost and 127.0.0.1): HTTPS in, plain HTTP to the
 * backends; a WebSocket upgrade over TLS; and the certificate problems `check` and `serve` report
 * as config errors, at their line, before anything is bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { request } from "node:https"
import type { Duplex } from "node:stream"
import { connect } from "node:tls"
import type { TLSSocket } from "node:tls"
import { startBackend } from "../support/Backends.ts"
import { runCli, startCli, writeConfig } from "../support/Cli.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname
const cert = fixture("cert.pem")
const key = fixture("key.pem")
const ca = readFileSync(cert)

interface HttpsReply {
  readonly status: number
  readonly body: string
  readonly alpn: string | false | null
}

/** One GET over HTTPS that trusts only the fixture certificate. */
const httpsGet = (port: number, path: string): Effect.Effect<HttpsReply, Error> =>
  Effect.callback<HttpsReply, Error>((resume) => {
    const outgoing = request(
      { host: "127.0.0.1", port, path, ca, servername: "localhost", agent: false },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (body += chunk))
        response.on("end", () => {
          const socket = response.socket as TLSSocket
          resume(Effect.succeed({ status: response.statusCode ?? 0, body, alpn: socket.alpnProtocol }))
        })
      }
    )
    outgoing.on("error", (error) => resume(Effect.fail(error)))
    outgoing.end()
  })

describe("TLS termination", () => {
  it.live("HTTPS in, HTTP to the backend, with X-Forwarded-Proto: https", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("plain")
      const proxy = yield* startProxy({ server: { tls: { cert, key } }, backends: [{ url: backend.url }] })
      const reply = yield* httpsGet(proxy.port, "/over/tls?x=1")
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(JSON.parse(reply.body), { backend: "plain", url: "/over/tls?x=1" })
      assert.strictEqual(reply.alpn, false, "no ALPN offered by this client, none chosen")
      const seen = backend.deliveries[0]
      assert.strictEqual(seen?.headers["x-forwarded-proto"], "https")
      assert.strictEqual(seen?.headers["x-forwarded-for"], "127.0.0.1")
      assert.strictEqual(seen?.headers["host"], `127.0.0.1:${proxy.port}`)
    }))

  it.live("with server.http2 off, a client offering h2 and http/1.1 gets http/1.1; plain HTTP on the TLS port never reaches a backend", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("plain")
      const proxy = yield* startProxy({
        server: { tls: { cert, key }, http2: false },
        backends: [{ url: backend.url }]
      })
      const chosen = yield* Effect.callback<string | false | null, Error>((resume) => {
        const socket = connect({
          host: "127.0.0.1",
          port: proxy.port,
          ca,
          servername: "localhost",
          ALPNProtocols: ["h2", "http/1.1"]
        })
        socket.on("secureConnect", () => {
          resume(Effect.succeed(socket.alpnProtocol))
          socket.end()
        })
        socket.on("error", (error) => resume(Effect.fail(error)))
      })
      assert.strictEqual(chosen, "http/1.1")
      const plain = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${proxy.port}/`).then(() => "answered", () => "refused")
      )
      assert.strictEqual(plain, "refused")
      assert.strictEqual(backend.arrivals(), 0)
    }))

  it.live("a WebSocket upgrade over TLS is tunnelled (wss)", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("ws")
      backend.server.on("upgrade", (_request, socket: Duplex) => {
        socket.on("error", () => undefined)
        socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString("latin1")}`))
        socket.on("end", () => socket.end())
      })
      const proxy = yield* startProxy({ server: { tls: { cert, key } }, backends: [{ url: backend.url }] })
      let received = ""
      const socket = yield* Effect.acquireRelease(
        Effect.sync(() => connect({ host: "127.0.0.1", port: proxy.port, ca, servername: "localhost" })),
        (socket) => Effect.sync(() => socket.destroy())
      )
      socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")))
      socket.on("error", () => undefined)
      socket.write("GET /tunnel HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
      yield* waitUntil(() => received.includes("\r\n\r\n"))
      assert.match(received, /^HTTP\/1\.1 101 /)
      socket.write("ping")
      yield* waitUntil(() => received.endsWith("echo:ping"))
    }))
})

describe("TLS certificate problems are config errors", () => {
  const configWith = (tls: string) =>
    writeConfig(`server:\n  port: 0\n  tls:\n${tls}\nbackends:\n  - url: http://127.0.0.1:9\n`)

  it.live("a missing certificate file: check exits 1 naming server.tls.cert at its line", () =>
    Effect.gen(function*() {
      const file = configWith(`    cert: /nonexistent/cert.pem\n    key: ${key}`)
      const result = yield* runCli(["check", "--config", file])
      assert.strictEqual(result.code, 1)
      assert.match(result.stderr, new RegExp(`${file}:4:11: server\\.tls\\.cert: cannot read the certificate: ENOENT`))
      assert.notInclude(result.stderr, "server.tls.key")
    }))

  it.live("files that are not PEM: each named with its own field", () =>
    Effect.gen(function*() {
      const file = configWith(`    cert: ${key}\n    key: ${cert}`)
      const result = yield* runCli(["check", "--config", file])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `${file}:4:11: server.tls.cert: not a PEM certificate`)
      assert.include(result.stderr, `${file}:5:10: server.tls.key: not a PEM private key`)
    }))

  it.live("a key that is not the certificate's: serve exits 1 before binding", () =>
    Effect.gen(function*() {
      const file = configWith(`    cert: ${cert}\n    key: ${fixture("other-key.pem")}`)
      const cli = yield* startCli(["serve", "--config", file])
      const code = yield* cli.exitCode
      assert.strictEqual(code, 1)
      assert.include(cli.stderr(), `${file}:5:10: server.tls.key: the key does not match the certificate`)
      assert.notInclude(cli.stdout() + cli.stderr(), "listening")
    }))

  it.live("paths are relative to the config file", () =>
    Effect.gen(function*() {
      const file = writeConfig(
        `server:\n  tls: { cert: ./cert.pem, key: ./key.pem }\nbackends:\n  - url: http://127.0.0.1:9\n`
      )
      const result = yield* runCli(["check", "--config", file])
      assert.strictEqual(result.code, 1)
      const dir = file.slice(0, file.lastIndexOf("/"))
      assert.include(
        result.stderr,
        `server.tls.cert: cannot read the certificate: ENOENT: no such file or directory, open '${dir}/cert.pem'`
      )
    }))
})
