/**
 * What a backend *is*, as configured: a named origin with a weight and an optional cap on
 * concurrent requests. Specs travel inside events (and the journal), so they are a Schema and
 * hold only plain, serialisable data; the URL stays a string.
 */
import { Schema } from "effect"

export const BackendSpec = Schema.Struct({
  /** Unique among all backends; the `backend` label in metrics and logs. */
  name: Schema.String,
  /** The pool it serves in; absent for the default pool (the config's top-level `backends`). */
  pool: Schema.optionalKey(Schema.String),
  /** `http(s)://host:port[/prefix]`: the prefix is prepended to every proxied path. */
  url: Schema.String,
  weight: Schema.Int,
  maxConnections: Schema.optionalKey(Schema.Int),
  /** `h2c` / `h2`: HTTP/2, one multiplexed connection; absent is HTTP/1.1. */
  protocol: Schema.optionalKey(Schema.Literals(["h2c", "h2"])),
  /**
   * Found by DNS discovery: the host name this backend is an address of (`url` holds the
   * address). What ties a discovered member to its configured backend (`discovery/DnsMembers.ts`).
   */
  resolvedFrom: Schema.optionalKey(Schema.String)
})
export type BackendSpec = typeof BackendSpec.Type

export const defaultPool = "default"

export const poolOf = (spec: BackendSpec): string => spec.pool ?? defaultPool

/** The upstream origin (`http://host:port`) a backend's connections go to. */
export const originOf = (spec: BackendSpec): string => new URL(spec.url).origin

/**
 * The path prefix taken from the backend URL, without a trailing slash, so that
 * `http://h/api/` and `http://h/api` both turn `/x?y` into `/api/x?y`; empty for a bare origin.
 */
export const pathPrefixOf = (spec: BackendSpec): string => {
  const path = new URL(spec.url).pathname
  return path.endsWith("/") ? path.slice(0, -1) : path
}
