/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * proxy and real backends: what an operator sees, how fast it follows the proxy, the token form,
 * and a phone-sized screen. Skipped where /usr/bin/chromium is missing; `.ci/run` installs it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { existsSync } from "node:fs"
import { chromium } from "playwright-core"
import type { Page } from "playwright-core"
import { startBackend } from "../support/Backends.ts"
import type { Handler } from "../support/Backends.ts"
import { send } from "../support/Http.ts"
import { startProxy } from "../support/Proxy.ts"
import { waitUntil } from "../support/Wait.ts"

const chromiumPath = "/usr/bin/chromium"

/** Long enough for a few health-check and history intervals on a busy CI machine. */
const timeout = 10_000

/**
 * A fresh headless browser, closed when the test's scope closes, and one page in it, with the
 * uncaught errors of the page's own script (which would otherwise pass unnoticed).
 */
const openPage = (viewport?: { readonly width: number; readonly height: number }) =>
  Effect.gen(function*() {
    const browser = yield* Effect.acquireRelease(
      Effect.promise(() =>
        chromium.launch({
          executablePath: chromiumPath,
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync"
          ]
        })
      ),
      (browser) => Effect.promise(() => browser.close())
    )
    const page = yield* Effect.promise(() => browser.newPage(viewport === undefined ? {} : { viewport }))
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    return { page, errors }
  })

/** Waits (Playwright's own polling) until `selector` is visible, optionally with exactly `text`. */
const visible = (page: Page, selector: string, text?: RegExp) =>
  Effect.promise(() =>
    page.locator(selector, text === undefined ? {} : { hasText: text }).first().waitFor({ state: "visible", timeout })
  )

const count = (page: Page, selector: string) => Effect.promise(() => page.locator(selector).count())

/** Backends whose `/health` answers whatever `codes` holds for their name (200 by default). */
const flippableHealth = (codes: Map<string, number>): Handler => (request, response, backend) => {
  request.resume()
  request.on("end", () => {
    response.writeHead(request.url === "/health" ? codes.get(backend.name) ?? 200 : 200)
    response.end(backend.name)
  })
}

const quickChecks = {
  healthCheck: { interval: "100ms", timeout: "90ms", unhealthyThreshold: 2, healthyThreshold: 1 },
  metrics: { historyInterval: "200ms" }
}

describe.skipIf(!existsSync(chromiumPath))(`dashboard (needs ${chromiumPath}; .ci/run installs it)`, () => {
  it.live("lists every backend, follows the traffic, and shows a failing backend turn unhealthy", () =>
    Effect.gen(function*() {
      const codes = new Map<string, number>()
      const backends = yield* Effect.forEach(["a", "b"], (name) => startBackend(name, flippableHealth(codes)))
      const proxy = yield* startProxy({
        ...quickChecks,
        backends: backends.map((b) => ({ name: b.name, url: b.url }))
      })
      const { errors, page } = yield* openPage()
      yield* Effect.promise(() => page.goto(`${proxy.adminUrl}/`))

      yield* visible(page, `[data-backend="a"] [data-field="health"]`, /^healthy$/)
      yield* visible(page, `[data-backend="b"] [data-field="health"]`, /^healthy$/)
      yield* visible(page, `[data-backend="a"] [data-field="circuit"]`, /^closed$/)
      assert.strictEqual(yield* count(page, "[data-backend]"), 2)
      yield* visible(page, `#connection[data-connection="live"]`)

      // Stopped between requests, not interrupted mid-request: a request cut while its bytes are
      // in flight could still reach the proxy later and move the counters after they are read.
      let sending = true
      const traffic = yield* Effect.forkChild(
        send(proxy.url).pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), while: () => sending }))
      )
      for (const name of ["a", "b"]) {
        yield* visible(page, `[data-backend="${name}"] [data-field="rps"][data-value]:not([data-value="0"])`)
        yield* visible(page, `[data-chart="throughput"] path[data-series="${name}"]`)
      }
      sending = false
      yield* Fiber.join(traffic)
      yield* waitUntil(() => proxy.registry.all().every((backend) => backend.inFlight === 0))
      for (const name of ["a", "b"]) {
        const requests = proxy.registry.get(name)?.requests ?? 0
        assert.isAbove(requests, 0)
        yield* visible(page, `[data-backend="${name}"] [data-field="requests"]`, new RegExp(`^${requests}$`))
      }

      codes.set("b", 500)
      yield* visible(page, `[data-backend="b"] [data-field="health"]`, /^unhealthy$/)
      yield* visible(page, `#event-log [data-event="HealthChanged"][data-event-backend="b"]`)
      assert.strictEqual(
        yield* Effect.promise(() => page.locator(`[data-backend="a"] [data-field="health"]`).textContent()),
        "healthy"
      )
      assert.deepStrictEqual(errors, [])
    }))

  it.live("asks for the admin token, keeps it for the tab, and then shows the backends", () =>
    Effect.gen(function*() {
      const a = yield* startBackend("a")
      const proxy = yield* startProxy({
        ...quickChecks,
        admin: { token: "t0k" },
        backends: [{ name: "a", url: a.url }]
      })

      const pageReply = yield* send(proxy.adminUrl, { path: "/" })
      assert.strictEqual(pageReply.status, 200, "the page itself holds no data and is public")
      assert.strictEqual(pageReply.headers["content-type"], "text/html; charset=utf-8")
      assert.strictEqual((yield* send(proxy.adminUrl, { path: "/metrics?format=json" })).status, 401)

      const { errors, page } = yield* openPage()
      yield* Effect.promise(() => page.goto(`${proxy.adminUrl}/`))
      yield* visible(page, "#token-form")
      assert.strictEqual(yield* count(page, "[data-backend]"), 0)

      yield* Effect.promise(() => page.locator("#token").fill("wrong"))
      yield* Effect.promise(() => page.locator(`#token-form button[type="submit"]`).click())
      yield* visible(page, "#token-error")

      yield* Effect.promise(() => page.locator("#token").fill("t0k"))
      yield* Effect.promise(() => page.locator(`#token-form button[type="submit"]`).click())
      yield* visible(page, `[data-backend="a"] [data-field="health"]`, /^healthy$/)
      yield* visible(page, `#connection[data-connection="live"]`)
      assert.isTrue(yield* Effect.promise(() => page.locator("#token-form").isHidden()))

      yield* Effect.promise(() => page.reload())
      yield* visible(page, `[data-backend="a"] [data-field="health"]`, /^healthy$/)
      assert.isTrue(yield* Effect.promise(() => page.locator("#token-form").isHidden()), "the token outlives a reload")
      assert.deepStrictEqual(errors, [])
    }))

  it.live("drains a backend with its button, sending the token, and undrains it", () =>
    Effect.gen(function*() {
      const backends = yield* Effect.forEach(["a", "b"], (name) => startBackend(name, flippableHealth(new Map())))
      const proxy = yield* startProxy({
        ...quickChecks,
        admin: { token: "t0k" },
        backends: backends.map((b) => ({ name: b.name, url: b.url }))
      })
      const { errors, page } = yield* openPage()
      yield* Effect.promise(() => page.goto(`${proxy.adminUrl}/`))
      yield* Effect.promise(() => page.locator("#token").fill("t0k"))
      yield* Effect.promise(() => page.locator(`#token-form button[type="submit"]`).click())
      yield* visible(page, `#connection[data-connection="live"]`)

      yield* Effect.promise(() => page.locator(`[data-backend="a"] button[data-action="drain"]`).click())
      yield* visible(page, `[data-backend="a"] [data-field="draining"]`, /no new requests/)
      yield* visible(page, `[data-backend="a"] button[data-action="undrain"]`, /^Undrain$/)
      yield* visible(page, `#event-log [data-event="BackendDrained"][data-event-backend="a"]`)
      assert.isTrue(proxy.registry.get("a")?.draining)
      for (let i = 0; i < 4; i++) assert.strictEqual((yield* send(proxy.url)).text, "b")

      yield* Effect.promise(() => page.locator(`[data-backend="a"] button[data-action="undrain"]`).click())
      yield* visible(page, `[data-backend="a"] button[data-action="drain"]`, /^Drain$/)
      yield* visible(page, `#event-log [data-event="BackendUndrained"][data-event-backend="a"]`)
      assert.isFalse(proxy.registry.get("a")?.draining)
      assert.isTrue(yield* Effect.promise(() => page.locator(`[data-backend="a"] [data-field="draining"]`).isHidden()))
      assert.deepStrictEqual(errors, [])
    }))

  it.live("fits a 375 px wide phone screen without sideways scrolling", () =>
    Effect.gen(function*() {
      const codes = new Map([["orders-service-eu-west-1-primary-with-a-long-name", 500]])
      const names = ["api-1", "api-2", "orders-service-eu-west-1-primary-with-a-long-name"]
      const backends = yield* Effect.forEach(names, (name) => startBackend(name, flippableHealth(codes)))
      const proxy = yield* startProxy({
        ...quickChecks,
        backends: backends.map((b) => ({ name: b.name, url: `${b.url}/a/rather/long/base/path/for/wrapping` }))
      })
      const { errors, page } = yield* openPage({ width: 375, height: 700 })
      yield* Effect.promise(() => page.goto(`${proxy.adminUrl}/`))
      for (const name of names) yield* visible(page, `[data-backend="${name}"]`)
      yield* visible(page, `[data-backend="${names[2]}"] [data-field="health"]`, /^unhealthy$/)
      yield* visible(page, `[data-chart="latency"] svg`)

      const scrollWidth = yield* Effect.promise(() => page.evaluate<unknown>("document.documentElement.scrollWidth"))
      assert.isNumber(scrollWidth)
      assert.isAtMost(Number(scrollWidth), 375)
      assert.deepStrictEqual(errors, [])
    }))
})
