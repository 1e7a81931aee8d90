/**
 * The rules of a shared HTTP cache (RFC 9111), reduced to what a reverse proxy needs, as pure
 * functions over header values:
 *
 * - only GET and HEAD are served from the cache; a request with `Authorization`, or with
 *   `Cache-Control: no-store` or `no-cache` (or `max-age=0`), goes to a backend;
 * - a response is stored only with explicit freshness (`s-maxage`, else `max-age`, greater
 *   than 0), and never with `no-store`, `private`, `no-cache`, `Set-Cookie`, or `Vary: *`;
 * - its freshness is `s-maxage` (a shared cache's own) or `max-age`, capped at `cache.ttl`;
 * - `Vary` names request headers whose values become part of the entry's identity.
 *
 * Without explicit freshness nothing is cached (no heuristic freshness, no `Expires`): a proxy
 * that guesses serves stale pages to people who never asked for caching.
 */

export interface CacheControl {
  readonly noStore: boolean
  readonly noCache: boolean
  readonly private: boolean
  readonly maxAge: number | undefined
  readonly sMaxAge: number | undefined
}

const seconds = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const unquoted = value.startsWith("\"") && value.endsWith("\"") ? value.slice(1, -1) : value
  return /^\d+$/.test(unquoted) ? Number(unquoted) : undefined
}

export const parseCacheControl = (value: string | ReadonlyArray<string> | undefined): CacheControl => {
  const directives = new Map<string, string | undefined>()
  for (const line of value === undefined ? [] : typeof value === "string" ? [value] : value) {
    for (const part of line.split(",")) {
      const [name = "", argument] = part.split("=", 2).map((s) => s.trim())
      if (name !== "") directives.set(name.toLowerCase(), argument)
    }
  }
  return {
    noStore: directives.has("no-store"),
    noCache: directives.has("no-cache"),
    private: directives.has("private"),
    maxAge: seconds(directives.get("max-age")),
    sMaxAge: seconds(directives.get("s-maxage"))
  }
}

/** A request header's value(s), by lowercase name. */
export type HeaderLookup = (name: string) => string | ReadonlyArray<string> | undefined

/** Whether a request may be answered from the cache (and its response stored). */
export const isCacheableRequest = (method: string, header: HeaderLookup): boolean => {
  if (method !== "GET" && method !== "HEAD") return false
  if (header("authorization") !== undefined) return false
  const control = parseCacheControl(header("cache-control"))
  return !control.noStore && !control.noCache && control.maxAge !== 0
}

/** Statuses a shared cache may store when their freshness is explicit (RFC 9110 §15.1). */
const storableStatuses: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])

export type Storability =
  | { readonly store: false; readonly reason: string }
  | { readonly store: true; readonly ttlMs: number; readonly vary: ReadonlyArray<string> }

/** Whether, and for how long, a response may be stored. `maxTtlMs` is `cache.ttl`. */
export const storability = (status: number, header: HeaderLookup, maxTtlMs: number): Storability => {
  if (!storableStatuses.has(status)) return { store: false, reason: `status ${status}` }
  if (header("set-cookie") !== undefined) return { store: false, reason: "Set-Cookie" }
  const control = parseCacheControl(header("cache-control"))
  if (control.noStore || control.private || control.noCache) return { store: false, reason: "Cache-Control" }
  const freshness = control.sMaxAge ?? control.maxAge
  if (freshness === undefined || freshness <= 0) return { store: false, reason: "no explicit freshness" }
  const vary = varyNames(header("vary"))
  if (vary.includes("*")) return { store: false, reason: "Vary: *" }
  return { store: true, ttlMs: Math.min(freshness * 1000, maxTtlMs), vary }
}

/** The request headers a response varies on, lowercased, in a stable order. */
export const varyNames = (value: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  const names = new Set<string>()
  for (const line of value === undefined ? [] : typeof value === "string" ? [value] : value) {
    for (const name of line.split(",")) {
      const trimmed = name.trim().toLowerCase()
      if (trimmed !== "") names.add(trimmed)
    }
  }
  return [...names].sort()
}

/** The part of an entry's identity that comes from the request: the values of the Vary headers. */
export const varyKey = (names: ReadonlyArray<string>, header: HeaderLookup): string =>
  names.map((name) => {
    const value = header(name)
    return `${name}=${value === undefined ? "" : typeof value === "string" ? value : value.join(",")}`
  }).join("\n")
