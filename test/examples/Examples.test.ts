/**
 * The programs in `examples/` run as a user runs them (`node examples/<name>.ts <backends>`), as
 * child processes against real loopback backends; each test checks what the program prints and
 * serves. The user-defined strategy also passes the laws every built-in one does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FirstAvailable } from "../../examples/custom-strategy.ts"
import { decodeConfig } from "../../src/domain/config/ConfigLoader.ts"
import { builtInStrategies, withStrategies } from "../../src/domain/selection/Strategies.ts"
import { ProxyConfigLive, StrategiesLive } from "../../src/index.ts"
import { checkStrategyLaws } from "../../src/testing/StrategyLaws.ts"
import { closedPort, startBackend } from "../support/Backends.ts"
import { runCli, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"

const example = (name: string) => new URL(`../../examples/${name}.ts`, import.meta.url).pathname

const startExample = (name: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const program = yield* startCli(args, {}, { script: example(name) })
    const [, port] = yield* program.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
    return { program, url: `http://127.0.0.1:${port}` }
  })

describe("examples/", () => {
  it.live("http-app.ts: an Effect HTTP app serves its own route and Switchyard's router under /api", () =>
    Effect.gen(function*() {
      const backend = yield* startBackend("api")
      const { url } = yield* startExample("http-app", [backend.url])
      const own = yield* send(url, { path: "/hello" })
      const proxied = yield* send(url, { path: "/api/users?page=2", method: "POST", body: "hi" })
      assert.strictEqual(own.text, "hello from the host app")
      assert.strictEqual(proxied.status, 200)
      assert.deepStrictEqual(backend.deliveries.map((d) => d.url), ["/api/users?page=2"])
      assert.strictEqual(backend.deliveries[0]?.body?.toString(), "hi")
    }))

  it.live("custom-strategy.ts: the config names the program's own strategy, and every request goes to the first backend", () =>
    Effect.gen(function*() {
      const first = yield* startBackend("first")
      const second = yield* startBackend("second")
      const { url } = yield* startExample("custom-strategy", [first.url, second.url])
      for (let i = 0; i < 4; i++) assert.strictEqual((yield* send(url, { path: `/r${i}` })).status, 200)
      assert.strictEqual(first.deliveries.length, 4)
      assert.strictEqual(second.deliveries.length, 0)
    }))

  it("property: the example's strategy keeps the laws the built-in ones keep", () => {
    checkStrategyLaws(FirstAvailable, { numRuns: 200 })
  })

  it.live("file-health-probe.ts: a custom HealthProbe takes a backend out while its maintenance file exists", () =>
    Effect.gen(function*() {
      const directory = mkdtempSync(join(tmpdir(), "switchyard-maintenance-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(directory, { recursive: true, force: true })))
      const b0 = yield* startBackend("b0")
      const b1 = yield* startBackend("b1")
      const { program, url } = yield* startExample("file-health-probe", [directory, b0.url, b1.url])
      writeFileSync(join(directory, "b1.down"), "")
      yield* program.waitFor(/backend b1 is unhealthy: .*b1\.down is present/)
      for (let i = 0; i < 4; i++) yield* send(url, { path: `/r${i}` })
      assert.strictEqual(b0.deliveries.length, 4)
      assert.strictEqual(b1.deliveries.length, 0)
    }))

  it.live("circuit-events.ts: the host program prints a circuit opening from the event stream", () =>
    Effect.gen(function*() {
      const up = yield* startBackend("up")
      const down = yield* closedPort
      const { program, url } = yield* startExample("circuit-events", [up.url, `http://127.0.0.1:${down}`])
      for (let i = 0; i < 6; i++) yield* send(url, { path: `/r${i}` })
      const [line] = yield* program.waitFor(/circuit opened: b1 \(.*\), trip 1/)
      assert.isDefined(line)
      assert.notMatch(program.stdout(), /circuit opened: b0/)
    }))
})

describe("a strategy table with the program's own strategies", () => {
  const table = Result.getOrThrow(withStrategies([FirstAvailable]))
  const decode = (strategy: string, strategies = table) =>
    decodeConfig({
      file: "c",
      value: {
        strategy,
        backends: [{ url: "http://a:1" }],
        pools: { p: { strategy, backends: [{ url: "http://b:1" }] } }
      },
      env: {},
      strategies
    })

  it("the config may name them, in the default pool and in named pools", () => {
    const config = Result.getOrThrow(decode("first-available"))
    assert.strictEqual(config.strategy, "first-available")
    assert.strictEqual(config.pools?.["p"]?.strategy, "first-available")
  })

  it("an unknown name is rejected with every accepted name, the program's included, and the nearest", () => {
    const result = decode("first-availabel")
    if (Result.isSuccess(result)) return assert.fail("decoded")
    const accepted = [...table.keys()].map((name) => JSON.stringify(name)).join(" | ")
    assert.deepStrictEqual(result.failure.problems.map((p) => `${p.path}: ${p.message}`), [
      `strategy: Expected ${accepted}, got "first-availabel" (did you mean "first-available"?)`,
      `pools.p.strategy: Expected ${accepted}, got "first-availabel" (did you mean "first-available"?)`
    ])
  })

  it("against the built-in table (the CLI's) the program's names are unknown", () => {
    const result = decode("first-available", builtInStrategies)
    assert.isTrue(Result.isFailure(result))
  })

  it("a strategy may not take a built-in name", () => {
    const clash = withStrategies([{ ...FirstAvailable, name: "round-robin" }])
    assert.deepStrictEqual(Result.isFailure(clash) ? clash.failure : [], ["round-robin"])
  })

  it.effect("ProxyConfigLive validates against the Strategies provided around it", () =>
    Effect.gen(function*() {
      const config = ProxyConfigLive.fromObject({ strategy: "first-available", backends: [{ url: "http://a:1" }] })
      const without = yield* Layer.build(config).pipe(Effect.flip)
      assert.match(without.problems[0]?.message ?? "", /got "first-available"/)
      yield* Layer.build(config.pipe(Layer.provide(StrategiesLive([FirstAvailable]))))
    }))

  it.live("switchyard check knows only the built-in names", () =>
    Effect.gen(function*() {
      const file = writeConfig("strategy: first-available\nbackends: [{ url: 'http://127.0.0.1:1' }]\n")
      const { code, stderr } = yield* runCli(["check", "--config", file])
      assert.strictEqual(code, 1)
      assert.match(stderr, /strategy: Expected "round-robin" \| .*, got "first-available"/)
    }))
})
