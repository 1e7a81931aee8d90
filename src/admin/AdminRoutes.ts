/**
 * The admin API's routes. `/health` is always open (load balancers in front of us probe it), and
 * so is the dashboard page at `/`, which holds no data of its own; every other route needs the
 * bearer token when `admin.token` is set.
 */
import { Clock, Duration, Effect, Option, Schema, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { readFileSync } from "node:fs"
import { isAvailable } from "../domain/Availability.ts"
import { BackendEvent } from "../domain/BackendEvent.ts"
import { poolsOf } from "../domain/config/ConfigLoader.ts"
import { formatProblem } from "../domain/Errors.ts"
import type { HistorySample } from "../domain/metrics/Sample.ts"
import { packagePath } from "../PackageRoot.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { Metrics } from "../services/Metrics.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Reloader } from "../services/Reloader.ts"
import { WorkerPool } from "../services/WorkerPool.ts"
import { version } from "../version.ts"
import { makeGuard } from "./Authorization.ts"
import { metricsDocument, recentTraffic, statusDocument } from "./StatusDocument.ts"

const encodeEvent = Schema.encodeSync(BackendEvent)

const dashboardFile = packagePath("assets", "dashboard.html")

/**
 * The page handles a bearer token, so it may only talk to its own origin and run its own inline
 * code; `no-cache` makes a browser revalidate, so an upgrade shows the new page.
 */
const dashboardHeaders = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

/** How often an idle `/events` stream sends a comment, so proxies and browsers keep it open. */
const keepAliveEvery = "15 seconds"

/** `Accept: application/json` or `?format=json` asks for the JSON snapshot. */
const wantsJson = (request: HttpServerRequest.HttpServerRequest): boolean =>
  (request.headers["accept"] ?? "").includes("application/json") ||
  new URL(request.url, "http://admin").searchParams.get("format") === "json"

export const AdminRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const config = yield* ProxyConfig
  const registry = yield* BackendRegistry
  const metrics = yield* Metrics
  const reloader = yield* Reloader
  const workers = yield* Effect.serviceOption(WorkerPool)
  const clock = yield* Clock.Clock
  const startedAt = clock.currentTimeMillisUnsafe()
  const guarded = makeGuard(config.admin.token)
  const dashboard = HttpServerResponse.uint8Array(readFileSync(dashboardFile), {
    contentType: "text/html; charset=utf-8",
    headers: dashboardHeaders
  })

  // Pools, strategies and routes from the config in force, which a reload may have changed
  // since start-up.
  const currentStatus = (history: ReadonlyArray<HistorySample>) => {
    const now = clock.currentTimeMillisUnsafe()
    const inForce = reloader.current()
    return statusDocument({
      version,
      uptimeSeconds: (now - startedAt) / 1000,
      strategy: inForce.strategy,
      pools: poolsOf(inForce),
      routes: inForce.routes,
      backends: registry.all(),
      recent: recentTraffic(history),
      workers: Option.match(workers, { onNone: () => [], onSome: (pool) => pool.status() }),
      now
    })
  }

  const health = Effect.sync(() => {
    const available = registry.all().filter(isAvailable).length
    return HttpServerResponse.jsonUnsafe(
      { status: available > 0 ? "ok" : "unavailable", availableBackends: available },
      { status: available > 0 ? 200 : 503 }
    )
  })

  const status = () => Effect.sync(() => HttpServerResponse.jsonUnsafe(currentStatus(metrics.history())))

  const metricsRoute = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.sync(() => {
      if (!wantsJson(request)) {
        return HttpServerResponse.text(metrics.prometheus(), {
          contentType: "text/plain; version=0.0.4; charset=utf-8"
        })
      }
      const samples = metrics.history()
      return HttpServerResponse.jsonUnsafe(metricsDocument(currentStatus(samples), {
        intervalSeconds: Duration.toSeconds(config.metrics.historyInterval),
        size: config.metrics.historySize,
        samples
      }))
    })

  // Server-sent events: every lifecycle event as JSON, live. The subscription's bounded buffer
  // drops a slow client's oldest events instead of slowing anything down.
  const events = () =>
    Effect.succeed(HttpServerResponse.stream(
      Stream.unwrap(Effect.map(registry.subscribe(), Stream.fromSubscription)).pipe(
        Stream.map((event) => `data: ${JSON.stringify(encodeEvent(event))}\n\n`),
        Stream.merge(Stream.tick(keepAliveEvery).pipe(Stream.map(() => ": keep-alive\n\n"))),
        Stream.encodeText
      ),
      {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
      }
    ))

  // 200 with what changed; 422 with every problem when the file is invalid (nothing changes);
  // 409 when the config did not come from a file.
  const reload = reloader.reload.pipe(
    Effect.map((report) => HttpServerResponse.jsonUnsafe({ status: "reloaded", ...report })),
    Effect.catchTags({
      ConfigError: (error) =>
        Effect.succeed(HttpServerResponse.jsonUnsafe(
          { status: "refused", file: error.file, problems: error.problems.map((p) => formatProblem(error.file, p)) },
          { status: 422 }
        )),
      NotReloadable: (error) =>
        Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "refused", message: error.message }, { status: 409 }))
    })
  )

  yield* router.add("GET", "/", Effect.succeed(dashboard))
  yield* router.add("GET", "/health", health)
  yield* router.add("GET", "/status", guarded(status))
  yield* router.add("GET", "/ping", guarded(status))
  yield* router.add("GET", "/metrics", guarded(metricsRoute))
  yield* router.add("GET", "/events", guarded(events))
  yield* router.add("POST", "/reload", guarded(() => reload))
}))
