/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * proxy and real backends: what an operator sees, how fast it follows the proxy, the token form,
 * what each backend answers (status classes, p50/p99) and the pools and routes, screenshots at
 * desktop and phone width, and a phone-sized screen. Skipped where /usr/bin/chromium is missing; `.ci/run` installs it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, Schema } from "effect"
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
    // Light colours, so a screenshot's pixels can be compared with the page's palette.
    const page = yield* Effect.promise(() =>
      browser.newPage(viewport === undefined ? { colorScheme: "light" } : { viewport, colorScheme: "light" })
    )
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

const textOf = (page: Page, selector: string) => Effect.promise(() => page.locator(selector).first().textContent())

const numberOf = (page: Page, selector: string) =>
  Effect.promise(() => page.locator(selector).first().getAttribute("data-value")).pipe(Effect.map(Number))

/** How wide the document is laid out: wider than the viewport means sideways scrolling. */
const scrollWidth = (page: Page) =>
  Effect.promise(() => page.evaluate<unknown>("document.documentElement.scrollWidth")).pipe(Effect.map(Number))

/** The page's palette (light scheme): the 5xx bar is drawn solid in `--bad`. */
const red = [0xb3, 0x26, 0x1e] as const

/**
 * A full-page screenshot, decoded by the browser itself (a blank page's canvas): its size, how
 * many distinct colours it has (a blank or unstyled page has a handful) and whether `red` is in it.
 */
const screenshotOf = (page: Page) =>
  Effect.gen(function*() {
    const png = yield* Effect.promise(() => page.screenshot({ fullPage: true }))
    const viewer = yield* Effect.promise(() =>
      page.context().browser()?.newPage() ?? Promise.reject(new Error("no browser"))
    )
    const facts = yield* Effect.promise(() =>
      viewer.evaluate<unknown>(`(async () => {
        const image = new Image()
        image.src = "data:image/png;base64,${png.toString("base64")}"
        await image.decode()
        const canvas = document.createElement("canvas")
        canvas.width = image.width
        canvas.height = image.height
        const context = canvas.getContext("2d")
        context.drawImage(image, 0, 0)
        const { data } = context.getImageData(0, 0, image.width, image.height)
        const colours = new Set()
        let red = false
        for (let i = 0; i < data.length; i += 4) {
          colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2])
          if (data[i] === ${red[0]} && data[i + 1] === ${red[1]} && data[i + 2] === ${red[2]}) red = true
        }
        return { width: image.width, height: image.height, colours: colours.size, red }
      })()`)
    )
    yield* Effect.promise(() => viewer.close())
    return decodeScreenshot(facts)
  })

const decodeScreenshot = Schema.decodeUnknownSync(
  Schema.Struct({ width: Schema.Number, height: Schema.Number, colours: Schema.Number, red: Schema.Boolean })
)

/** Answers `status` after `delayMs`, and its health checks at once with 200. */
const answering = (status: number, delayMs = 0): Handler => (request, response) => {
  request.resume()
  const health = request.url === "/health"
  request.on("end", () =>
    setTimeout(() => {
      response.writeHead(health ? 200 : status)
      response.end()
    }, health ? 0 : delayMs))
}

/**
 * Sends to `path` until `stop()`. Stopped between requests, not interrupted mid-request: a request
 * cut while its bytes are in flight could still reach the proxy later and move the counters after
 * they are read.
 */
const keepSending = (url: string, path: string, stop: () => boolean) =>
  Effect.forkChild(
    send(url, { path }).pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), while: () => !stop() }))
  )

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

      let sending = true
      const traffic = yield* keepSending(proxy.url, "/", () => !sending)
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

  it.live("shows what each backend answers and how slowly, the pools and routes, and a drain in its pool", () =>
    Effect.gen(function*() {
      const ok = yield* startBackend("ok", answering(200))
      const broken = yield* startBackend("broken", answering(500))
      const slow = yield* startBackend("slow", answering(200, 60))
      const proxy = yield* startProxy({
        ...quickChecks,
        // Every request reaches the backend it was sent to: no retry elsewhere, no circuit opening.
        retry: { attempts: 1 },
        circuitBreaker: { failureThreshold: 100_000 },
        backends: [{ name: "ok", url: ok.url }, { name: "broken", url: broken.url }],
        pools: { slow: { strategy: "least-connections", backends: [{ name: "slow", url: slow.url }] } },
        routes: [{ match: { pathPrefix: "/slow" }, pool: "slow" }]
      })
      const { errors, page } = yield* openPage({ width: 1280, height: 900 })
      yield* Effect.promise(() => page.goto(`${proxy.adminUrl}/`))

      let sending = true
      const traffic = [
        yield* keepSending(proxy.url, "/", () => !sending),
        yield* keepSending(proxy.url, "/slow/x", () => !sending)
      ]
      const nonZero = `[data-value]:not([data-value="0"])`
      yield* visible(page, `[data-backend="broken"] [data-field="rate-5xx"]${nonZero}`)
      yield* visible(page, `[data-backend="ok"] [data-field="rate-2xx"]${nonZero}`)
      yield* visible(page, `[data-backend="slow"] [data-field="rate-2xx"]${nonZero}`)
      yield* visible(page, `[data-backend="slow"] [data-field="p99"][data-value]`)
      yield* visible(page, `[data-backend="ok"] [data-field="p99"][data-value]`)
      assert.strictEqual(yield* numberOf(page, `[data-backend="ok"] [data-field="rate-5xx"]`), 0)
      assert.strictEqual(yield* numberOf(page, `[data-backend="broken"] [data-field="rate-2xx"]`), 0)
      // 60 ms answers: the slow backend's p99 is in the (50 ms, 100 ms] bucket or above.
      const slowP99 = yield* numberOf(page, `[data-backend="slow"] [data-field="p99"]`)
      assert.isAtLeast(slowP99, 50)
      assert.isBelow(yield* numberOf(page, `[data-backend="ok"] [data-field="p99"]`), slowP99)
      assert.match((yield* textOf(page, `[data-backend="slow"] [data-field="latency"]`)) ?? "", /ms$/)

      assert.strictEqual(yield* textOf(page, `[data-pool="default"] [data-field="strategy"]`), "round-robin")
      assert.strictEqual(yield* textOf(page, `[data-pool="default"] [data-field="members"]`), "ok, broken")
      assert.strictEqual(yield* textOf(page, `[data-pool="slow"] [data-field="strategy"]`), "least-connections")
      yield* visible(page, `[data-pool="default"] [data-field="pool-available"]`, /^2 \/ 2 available$/)
      yield* visible(page, `[data-pool="slow"] [data-field="pool-available"]`, /^1 \/ 1 available$/)
      assert.strictEqual(yield* textOf(page, `[data-route="0"] [data-field="match"]`), "path /slow")
      assert.strictEqual(yield* textOf(page, `[data-route="0"] [data-field="pool"]`), "slow")
      assert.strictEqual(yield* textOf(page, `[data-route="default"] [data-field="pool"]`), "default")

      const desktop = yield* screenshotOf(page)
      assert.strictEqual(desktop.width, 1280, "nothing wider than the window")
      assert.isAbove(desktop.colours, 50, "a rendered page, not a blank one")
      assert.isTrue(desktop.red, "the 5xx bar of the broken backend is drawn")
      assert.isAtMost(yield* scrollWidth(page), 1280)

      yield* Effect.promise(() => page.locator(`[data-backend="broken"] button[data-action="drain"]`).click())
      yield* visible(page, `[data-pool="default"] [data-field="pool-available"]`, /^1 \/ 2 available$/)
      yield* visible(page, `[data-pool="default"] [data-member="broken"][data-available="false"]`)
      assert.isTrue(proxy.registry.get("broken")?.draining)
      sending = false
      yield* Effect.forEach(traffic, Fiber.join)
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
      yield* visible(page, `[data-pool="default"] [data-field="pool-available"]`, /^2 \/ 3 available$/)

      assert.isAtMost(yield* scrollWidth(page), 375)
      const phone = yield* screenshotOf(page)
      assert.strictEqual(phone.width, 375, "nothing wider than the screen")
      assert.isAbove(phone.height, 700, "the cards, charts, pools and events below the fold are in the picture")
      assert.isAbove(phone.colours, 50, "a rendered page, not a blank one")
      assert.deepStrictEqual(errors, [])
    }))
})
