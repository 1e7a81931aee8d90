/**
 * Which pool a request goes to, by host and path prefix. Built once from the config's `routes`;
 * a lookup cuts the path at each `/` from the right and asks a map for each cut, so it costs one
 * map lookup per path segment however many routes there are.
 *
 * Rules: the longest matching prefix wins; at equal length a route naming the request's host
 * beats one for any host; nothing matching means the default pool. A prefix matches the path
 * itself and everything below it: `/assets` matches `/assets`, `/assets/` and `/assets/a.css`,
 * not `/assetsx`. Hosts match case-insensitively, without the port.
 */

export interface Route {
  readonly host: string | undefined
  readonly pathPrefix: string | undefined
  readonly pool: string
}

export interface RouteTable {
  readonly lookup: (host: string | undefined, target: string) => string
}

/** `/assets/` and `/assets` are the same prefix; `/` is the empty one (everything). */
const normalisePrefix = (prefix: string | undefined): string => {
  if (prefix === undefined) return ""
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === "/") end--
  return prefix.slice(0, end)
}

/** `Example.com:8080` → `example.com`. */
export const hostKey = (host: string): string => {
  const lower = host.toLowerCase()
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1)
  const colon = lower.indexOf(":")
  return colon === -1 ? lower : lower.slice(0, colon)
}

export const buildRouteTable = (routes: ReadonlyArray<Route>, fallback: string): RouteTable => {
  if (routes.length === 0) return { lookup: () => fallback }
  const anyHost = new Map<string, string>()
  const byHost = new Map<string, Map<string, string>>()
  for (const route of routes) {
    const prefixes = route.host === undefined ? anyHost : byHost.get(hostKey(route.host)) ?? new Map<string, string>()
    if (route.host !== undefined) byHost.set(hostKey(route.host), prefixes)
    const prefix = normalisePrefix(route.pathPrefix)
    // The first route written for a host and prefix wins, as a reader of the file would expect.
    if (!prefixes.has(prefix)) prefixes.set(prefix, route.pool)
  }
  return {
    lookup: (host, target) => {
      const forHost = host === undefined ? undefined : byHost.get(hostKey(host))
      const query = target.indexOf("?")
      let path = normalisePrefix(query === -1 ? target : target.slice(0, query))
      for (;;) {
        const pool = forHost?.get(path) ?? anyHost.get(path)
        if (pool !== undefined) return pool
        if (path === "") return fallback
        path = path.slice(0, path.lastIndexOf("/"))
      }
    }
  }
}
