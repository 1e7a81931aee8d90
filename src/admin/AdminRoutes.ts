/**
 * The admin API's routes. `/health` is always open (load balancers in front of us probe it);
 * every other route needs the bearer token when `admin.token` is set.
 */
import { Clock, Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { isAvailable } from "../domain/Availability.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { version } from "../version.ts"
import { makeTokenCheck } from "./Authorization.ts"
import { statusDocument } from "./StatusDocument.ts"

const unauthorized = HttpServerResponse.jsonUnsafe(
  { status: 401, error: "unauthorized", message: "this route needs `Authorization: Bearer <admin.token>`" },
  { status: 401, headers: { "www-authenticate": "Bearer" } }
)

export const AdminRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const config = yield* ProxyConfig
  const registry = yield* BackendRegistry
  const clock = yield* Clock.Clock
  const startedAt = clock.currentTimeMillisUnsafe()
  const authorized = makeTokenCheck(config.admin.token)

  const guarded = (handler: Effect.Effect<HttpServerResponse.HttpServerResponse>) =>
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => authorized(request.headers["authorization"]) ? handler : Effect.succeed(unauthorized)
    )

  const health = Effect.sync(() => {
    const available = registry.pool().filter(isAvailable).length
    return HttpServerResponse.jsonUnsafe(
      { status: available > 0 ? "ok" : "unavailable", availableBackends: available },
      { status: available > 0 ? 200 : 503 }
    )
  })

  const status = Effect.sync(() =>
    HttpServerResponse.jsonUnsafe(statusDocument({
      version,
      uptimeSeconds: (clock.currentTimeMillisUnsafe() - startedAt) / 1000,
      strategy: config.strategy,
      backends: registry.all(),
      now: clock.currentTimeMillisUnsafe()
    }))
  )

  yield* router.add("GET", "/health", health)
  yield* router.add("GET", "/status", guarded(status))
  yield* router.add("GET", "/ping", guarded(status))
}))
