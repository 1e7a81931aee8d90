/**
 * `Authorization: Bearer <admin.token>` for the admin API. The comparison takes the same time
 * whatever the guess: both sides are hashed to equal-length digests, then compared with
 * `timingSafeEqual`, so neither the token's content nor its length leaks through timing.
 */
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (text: string): Buffer => createHash("sha256").update(text).digest()

/** A check for the configured token; with no token configured, everyone is allowed. */
export const makeTokenCheck = (token: string | undefined): (authorization: string | undefined) => boolean => {
  if (token === undefined) return () => true
  const expected = digest(token)
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "")
    return timingSafeEqual(digest(match?.[1] ?? ""), expected) && match !== null
  }
}

const unauthorized = HttpServerResponse.jsonUnsafe(
  { status: 401, error: "unauthorized", message: "this route needs `Authorization: Bearer <admin.token>`" },
  { status: 401, headers: { "www-authenticate": "Bearer" } }
)

/** Wraps a route's handler so that, with a token configured, it runs only for a request that carries it. */
export type Guard = <E, R>(
  handler: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>

export const makeGuard = (token: string | undefined): Guard => {
  const authorized = makeTokenCheck(token)
  return (handler) =>
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => authorized(request.headers["authorization"]) ? handler(request) : Effect.succeed(unauthorized)
    )
}
