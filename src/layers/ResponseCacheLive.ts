/**
 * The response cache: `domain/cache` decides what may be stored and for how long and keeps the
 * entries; this layer adds coalescing. The first miss for a key fetches and fills; misses that
 * arrive while it does wait for it (nginx's `proxy_cache_lock`), then find the response stored,
 * or, if it turned out not storable or takes longer than `timeouts.request`, go to a backend
 * themselves. Only GET responses are stored; a HEAD can be answered from a stored GET.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { storability } from "../domain/cache/CachePolicy.ts"
import { lookup, makeStore, put, requestKey } from "../domain/cache/ResponseStore.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { ResponseCache } from "../services/ResponseCache.ts"
import type { CacheFill, CacheLookup } from "../services/ResponseCache.ts"

export const ResponseCacheLive = Layer.effect(
  ResponseCache,
  Effect.gen(function*() {
    const { cache, timeouts } = yield* ProxyConfig
    if (cache === undefined) return ResponseCache.of({ lookup: undefined })
    const clock = yield* Clock.Clock
    const store = makeStore({ maxEntries: cache.maxEntries, maxBytes: cache.maxBytes })
    const maxTtlMs = Duration.toMillis(cache.ttl)
    const lockTimeoutMs = Duration.toMillis(timeouts.request)
    /** Keys being fetched now, with the requests waiting for them. */
    const filling = new Map<string, Set<(passThrough: boolean) => void>>()

    const release = (key: string, passThrough: boolean) => {
      const waiters = filling.get(key)
      filling.delete(key)
      waiters?.forEach((resume) => resume(passThrough))
    }

    const startFill = (key: string, requestHeader: Parameters<CacheFill["head"]>[2]): CacheFill => {
      filling.set(key, new Set())
      let done = false
      let storing: {
        status: number
        statusMessage: string | undefined
        outgoing: ReadonlyArray<string>
        backend: string
        ttlMs: number
        vary: ReadonlyArray<string>
      } | undefined
      const chunks: Array<Buffer> = []
      let bytes = 0
      const finish = (stored: boolean) => {
        if (done) return
        done = true
        release(key, !stored)
      }
      return {
        head: (status, statusMessage, header, outgoing, backend) => {
          const verdict = storability(status, header, maxTtlMs)
          if (!verdict.store) return finish(false)
          storing = { status, statusMessage, outgoing, backend, ttlMs: verdict.ttlMs, vary: verdict.vary }
        },
        chunk: (data) => {
          if (storing === undefined || done) return
          bytes += data.length
          if (bytes > store.limits.maxBytes) {
            storing = undefined
            finish(false)
          } else chunks.push(data)
        },
        end: () => {
          if (storing === undefined || done) return finish(false)
          const now = clock.currentTimeMillisUnsafe()
          finish(put(store, key, requestHeader, {
            status: storing.status,
            statusMessage: storing.statusMessage,
            headers: storing.outgoing,
            body: Buffer.concat(chunks),
            backend: storing.backend,
            storedAt: now,
            expiresAt: now + storing.ttlMs,
            vary: storing.vary
          }))
        },
        abandon: () => finish(false)
      }
    }

    return ResponseCache.of({
      lookup: (method, host, target, header): CacheLookup => {
        const key = requestKey(host, target)
        const now = clock.currentTimeMillisUnsafe()
        const hit = lookup(store, key, header, now)
        if (hit !== undefined) {
          return { _tag: "Hit", response: hit, ageSeconds: Math.floor((now - hit.storedAt) / 1000) }
        }
        if (method !== "GET") return { _tag: "Bypass" }
        const waiters = filling.get(key)
        if (waiters === undefined) return { _tag: "Fill", fill: startFill(key, header) }
        return {
          _tag: "Wait",
          wait: (resume) => {
            const timer = setTimeout(() => {
              waiters.delete(onRelease)
              resume(true)
            }, lockTimeoutMs)
            const onRelease = (passThrough: boolean) => {
              clearTimeout(timer)
              resume(passThrough)
            }
            waiters.add(onRelease)
            return () => {
              clearTimeout(timer)
              waiters.delete(onRelease)
            }
          }
        }
      }
    })
  })
)
