/**
 * The backends API: list, add, change, drain, undrain and remove backends while the proxy runs.
 * Each change is computed from the config in force (`config/BackendEdits.ts`, validated as the
 * file is) and applied through the reloader like a reload: as events (journal, `/events`, the
 * dashboard), to this process or to every worker, without a dropped request. It holds until the
 * next reload of the file, which puts the file's backends back. Every route needs the bearer
 * token when `admin.token` is set.
 *
 * Answers: a backend as `/status` lists it (201 for a new one, with its `location`); 400 with
 * every problem of the body; 404 for a name no backend has; 409 for a change the pool cannot take.
 */
import { Clock, Effect, Result } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { addBackend, drainEvents, removeBackend, updateBackend } from "../domain/config/BackendEdits.ts"
import type { BackendChange } from "../domain/config/BackendEdits.ts"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { InvalidBackendChange, UnknownBackend } from "../domain/Errors.ts"
import type { BackendChangeRefused } from "../domain/Errors.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Reloader } from "../services/Reloader.ts"
import { makeGuard } from "./Authorization.ts"
import { backendStatus } from "./StatusDocument.ts"

type Refusal = InvalidBackendChange | UnknownBackend | BackendChangeRefused

/** The one place a refused change becomes a status code. */
const refused = (error: Refusal): HttpServerResponse.HttpServerResponse => {
  switch (error._tag) {
    case "InvalidBackendChange":
      return HttpServerResponse.jsonUnsafe(
        { status: "invalid", problems: error.problems.map(({ message, path }) => ({ path, message })) },
        { status: 400 }
      )
    case "UnknownBackend":
      return HttpServerResponse.jsonUnsafe(
        { status: "not-found", message: `no backend is named ${JSON.stringify(error.name)}` },
        { status: 404 }
      )
    case "BackendChangeRefused":
      return HttpServerResponse.jsonUnsafe({ status: "refused", message: error.message }, { status: 409 })
  }
}

/** The request's body as JSON; a body that is not JSON is a problem of the request. */
const jsonBody = (request: HttpServerRequest.HttpServerRequest) =>
  request.text.pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: (error) =>
          new InvalidBackendChange({
            problems: [{ path: "", message: `Expected a JSON object: ${error instanceof Error ? error.message : ""}` }]
          })
      })
    ),
    Effect.catchTag(
      "HttpServerError",
      () =>
        Effect.fail(
          new InvalidBackendChange({ problems: [{ path: "", message: "The request body could not be read" }] })
        )
    )
  )

const nameParam = Effect.map(HttpRouter.params, (params) => params["name"] ?? "")

export const BackendRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const config = yield* ProxyConfig
  const registry = yield* BackendRegistry
  const reloader = yield* Reloader
  const clock = yield* Clock.Clock
  const guarded = makeGuard(config.admin.token)

  /** The backend as `/status` lists it; 404 once it is gone. */
  const answer = (name: string, options?: { readonly status: number; readonly headers: Record<string, string> }) => {
    const state = registry.get(name)
    return state === undefined
      ? refused(new UnknownBackend({ name }))
      : HttpServerResponse.jsonUnsafe(backendStatus(state, clock.currentTimeMillisUnsafe()), options)
  }

  /** Applies `edit` and says so in the log; a refusal becomes its answer. */
  const apply = <E extends Refusal>(
    what: string,
    edit: (inForce: Config, at: number) => Result.Result<BackendChange, E>,
    reply: (change: BackendChange) => HttpServerResponse.HttpServerResponse
  ) =>
    reloader.amend(edit).pipe(
      Effect.tap((change) =>
        change.events.length === 0
          ? Effect.void
          : Effect.logInfo(`backend ${change.name} ${what} by the admin API; it holds until the config is reloaded`)
      ),
      Effect.map(reply),
      Effect.catch((error) => Effect.succeed(refused(error)))
    )

  const list = () =>
    Effect.sync(() => {
      const now = clock.currentTimeMillisUnsafe()
      return HttpServerResponse.jsonUnsafe({ backends: registry.all().map((state) => backendStatus(state, now)) })
    })

  const one = () => Effect.map(nameParam, (name) => answer(name))

  const add = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const body = yield* jsonBody(request)
      return yield* apply(
        "added",
        (inForce, at) => addBackend(inForce, body, at),
        (change) =>
          answer(change.name, { status: 201, headers: { location: `/backends/${encodeURIComponent(change.name)}` } })
      )
    }).pipe(Effect.catch((error) => Effect.succeed(refused(error))))

  const update = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const name = yield* nameParam
      const body = yield* jsonBody(request)
      return yield* apply("changed", (inForce, at) => updateBackend(inForce, name, body, at), () => answer(name))
    }).pipe(Effect.catch((error) => Effect.succeed(refused(error))))

  const drain = (draining: boolean) => () =>
    Effect.flatMap(nameParam, (name) =>
      apply(
        draining ? "drained" : "undrained",
        (inForce, at) =>
          drainEvents(registry.get(name), name, draining, at).pipe(
            Result.map((events) => ({ next: inForce, events, name }))
          ),
        () => answer(name)
      ))

  // Removed at once from the rotation; `inFlight` is what it still has to finish before it is forgotten.
  const remove = () =>
    Effect.flatMap(nameParam, (name) =>
      apply(
        "removed",
        (inForce, at) => removeBackend(inForce, name, at),
        () => HttpServerResponse.jsonUnsafe({ name, removed: true, inFlight: registry.get(name)?.inFlight ?? 0 })
      ))

  yield* router.add("GET", "/backends", guarded(list))
  yield* router.add("POST", "/backends", guarded(add))
  yield* router.add("GET", "/backends/:name", guarded(one))
  yield* router.add("PATCH", "/backends/:name", guarded(update))
  yield* router.add("DELETE", "/backends/:name", guarded(remove))
  yield* router.add("POST", "/backends/:name/drain", guarded(drain(true)))
  yield* router.add("POST", "/backends/:name/undrain", guarded(drain(false)))
}))
