/**
 * The cache's memory: stored responses by key and `Vary` variant, least recently used first out,
 * bounded by entry count and by body bytes. Plain data and synchronous functions; time is passed
 * in, so expiry is exact under any clock.
 */
import type { HeaderLookup } from "./CachePolicy.ts"
import { varyKey } from "./CachePolicy.ts"

export interface StoredResponse {
  readonly status: number
  readonly statusMessage: string | undefined
  /** Flat `[name, value, ...]`, hop-by-hop headers and the request id already left out. */
  readonly headers: ReadonlyArray<string>
  readonly body: Buffer
  /** The backend that produced it. */
  readonly backend: string
  readonly storedAt: number
  readonly expiresAt: number
  readonly vary: ReadonlyArray<string>
}

export interface Limits {
  readonly maxEntries: number
  readonly maxBytes: number
}

export interface ResponseStore {
  readonly limits: Limits
  /** Insertion order is recency: the first entry is the least recently used. */
  readonly entries: Map<string, StoredResponse>
  /** The variant keys stored under each request key. */
  readonly variants: Map<string, Set<string>>
  bytes: number
}

export const makeStore = (limits: Limits): ResponseStore => ({
  limits,
  entries: new Map(),
  variants: new Map(),
  bytes: 0
})

/** A request's identity before `Vary`: the host it asked and its target. */
export const requestKey = (host: string | undefined, target: string): string =>
  `${(host ?? "").toLowerCase()} ${target}`

/** NUL cannot occur in a host, a target or a header value, so it separates key from variant. */
const entryKey = (key: string, variant: string) => `${key}\u0000${variant}`

const remove = (store: ResponseStore, key: string, variant: string): void => {
  const id = entryKey(key, variant)
  const entry = store.entries.get(id)
  if (entry === undefined) return
  store.entries.delete(id)
  store.bytes -= entry.body.length
  const variants = store.variants.get(key)
  variants?.delete(variant)
  if (variants?.size === 0) store.variants.delete(key)
}

/** A fresh response for this request, made most recently used; expired ones are dropped. */
export const lookup = (
  store: ResponseStore,
  key: string,
  header: HeaderLookup,
  now: number
): StoredResponse | undefined => {
  const variants = store.variants.get(key)
  if (variants === undefined) return undefined
  // No copy: deleting the visited entry from a Set while iterating it skips nothing.
  for (const variant of variants) {
    const id = entryKey(key, variant)
    const entry = store.entries.get(id)
    if (entry === undefined) continue
    if (now >= entry.expiresAt) {
      remove(store, key, variant)
      continue
    }
    if (varyKey(entry.vary, header) !== variant) continue
    store.entries.delete(id)
    store.entries.set(id, entry)
    return entry
  }
  return undefined
}

/**
 * Stores a response for the request it answered, evicting the least recently used entries
 * until both limits hold. A body larger than `maxBytes` is not stored at all.
 */
export const put = (store: ResponseStore, key: string, header: HeaderLookup, response: StoredResponse): boolean => {
  if (response.body.length > store.limits.maxBytes) return false
  const variant = varyKey(response.vary, header)
  remove(store, key, variant)
  const id = entryKey(key, variant)
  store.entries.set(id, response)
  store.bytes += response.body.length
  const variants = store.variants.get(key) ?? new Set<string>()
  variants.add(variant)
  store.variants.set(key, variants)
  while (store.entries.size > store.limits.maxEntries || store.bytes > store.limits.maxBytes) {
    const oldest = store.entries.keys().next()
    if (oldest.done === true) break
    const separator = oldest.value.indexOf("\u0000")
    remove(store, oldest.value.slice(0, separator), oldest.value.slice(separator + 1))
  }
  return true
}
