/**
 * The three backends every target ends at: nginx instances when nginx is installed, else Node
 * processes (`node-backend.ts`). One process each, as separate machines would be.
 */
import { spawnChild } from "./children.ts"
import { waitServing } from "./http.ts"
import type { Server } from "./nginx.ts"
import { startNginxBackend } from "./nginx.ts"

const startTimeoutMs = 10_000

const nodeBackendTs = new URL("./node-backend.ts", import.meta.url).pathname

/**
 * A Node backend process running `script` (the fixed-body `node-backend.ts` unless told), which
 * prints `listening on <port>` and answers `/` with the fixed body.
 */
export const startNodeBackend = async (name: string, script: string = nodeBackendTs): Promise<Server> => {
  const child = spawnChild(name, process.execPath, [script])
  const match = await child.waitFor(/listening on (\d+)/, startTimeoutMs)
  const port = Number(match[1])
  const url = `http://127.0.0.1:${port}/`
  await waitServing(url, child, startTimeoutMs)
  return { url, port, child }
}

export const startBackends = (nginx: string | undefined, count: number): Promise<Array<Server>> =>
  Promise.all(
    Array.from({ length: count }, (_, index) => {
      const name = `backend-${index + 1}`
      return nginx === undefined ? startNodeBackend(name) : startNginxBackend(nginx, name)
    })
  )
