/**
 * The admin API's routes. `/health` is always open (load balancers in front of us probe it);
 * every other route needs the bearer token when `admin.token` is set.
 */
import { Clock, Duration, Effect, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { isAvailable } from "../domain/Availability.ts"
import { BackendEvent } from "../domain/BackendEvent.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { Metrics } from "../services/Metrics.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { version } from "../version.ts"
import { makeTokenCheck } from "./Authorization.ts"
import { metricsDocument, statusDocument } from "./StatusDocument.ts"

const unauthorized = HttpServerResponse.jsonUnsafe(
  { status: 401, error: "unauthorized", message: "this route needs `Authorization: Bearer <admin.token>`" },
  { status: 401, headers: { "www-authenticate": "Bearer" } }
)

const encodeEvent = Schema.encodeSync(BackendEvent)

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
  const clock = yield* Clock.Clock
  const startedAt = clock.currentTimeMillisUnsafe()
  const authorized = makeTokenCheck(config.admin.token)

  const guarded = (
    handler: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  ) =>
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => authorized(request.headers["authorization"]) ? handler(request) : Effect.succeed(unauthorized)
    )

  const currentStatus = () => {
    const now = clock.currentTimeMillisUnsafe()
    return statusDocument({
      version,
      uptimeSeconds: (now - startedAt) / 1000,
      strategy: config.strategy,
      backends: registry.all(),
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

  const status = () => Effect.sync(() => HttpServerResponse.jsonUnsafe(currentStatus()))

  const metricsRoute = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.sync(() =>
      wantsJson(request)
        ? HttpServerResponse.jsonUnsafe(metricsDocument(currentStatus(), {
          intervalSeconds: Duration.toSeconds(config.metrics.historyInterval),
          size: config.metrics.historySize,
          samples: metrics.history()
        }))
        : HttpServerResponse.text(metrics.prometheus(), {
          contentType: "text/plain; version=0.0.4; charset=utf-8"
        })
    )

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

  yield* router.add("GET", "/health", health)
  yield* router.add("GET", "/status", guarded(status))
  yield* router.add("GET", "/ping", guarded(status))
  yield* router.add("GET", "/metrics", guarded(metricsRoute))
  yield* router.add("GET", "/events", guarded(events))
}))
