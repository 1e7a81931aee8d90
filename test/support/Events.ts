/** The admin listener's `/events` stream (server-sent events), read as a client would, for tests. */
import { Effect } from "effect"
import type { Scope } from "effect"
import { request as httpRequest } from "node:http"

/** `/events`, read in the background from the moment it answers: the events received so far. */
export const watchEvents = (
  adminUrl: string
): Effect.Effect<() => ReadonlyArray<Record<string, unknown>>, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly events: Array<Record<string, unknown>>; readonly close: () => void }, Error>(
      (resume) => {
        const events: Array<Record<string, unknown>> = []
        let buffer = ""
        const request = httpRequest(`${adminUrl}/events`, (response) => {
          response.setEncoding("utf8")
          response.on("data", (chunk: string) => {
            buffer += chunk
            for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
              const block = buffer.slice(0, end)
              buffer = buffer.slice(end + 2)
              if (block.startsWith("data: ")) events.push(JSON.parse(block.slice(6)))
            }
          })
          resume(Effect.succeed({ events, close: () => request.destroy() }))
        })
        request.on("error", (error) => resume(Effect.fail(error)))
        request.end()
      }
    ),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ events }) => () => events))

/** The `_tag`s of the events about `backend`, in order. */
export const tagsFor = (events: ReadonlyArray<Record<string, unknown>>, backend: string) =>
  events
    .filter((event) =>
      event["backend"] === backend || (event["spec"] as { name?: string } | undefined)?.name === backend
    )
    .map((event) => event["_tag"])
