/**
 * `DnsResolver` over `dns.promises.Resolver`: c-ares queries on the event loop, not
 * `dns.lookup`, which takes a libuv thread per call and hides the TTLs. A query gets
 * `queryTimeoutMs` and one more try (c-ares doubles the timeout on it), so a resolution that gets
 * no answer gives up after about three times that. The resolver reads no `/etc/hosts`: a name is
 * what the DNS servers say it is.
 */
import { Effect, Layer } from "effect"
import { Resolver } from "node:dns/promises"
import type { FamilyAnswer } from "../domain/discovery/DnsAnswer.ts"
import { DnsResolver } from "../services/DnsResolver.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

const queryTimeoutMs = 2_000

/** The resolver's error code (`ESERVFAIL`, `ENOTFOUND`, `ETIMEOUT`, ...); ENODATA is an empty answer. */
const answerOf = (error: unknown): FamilyAnswer => {
  const code = error instanceof Error && "code" in error ? String(error.code) : String(error)
  return code === "ENODATA" ? { _tag: "Records", records: [] } : { _tag: "Failed", reason: code }
}

export const DnsResolverLive = Layer.effect(
  DnsResolver,
  Effect.gen(function*() {
    const { discovery } = yield* ProxyConfig
    const resolver = new Resolver({ timeout: queryTimeoutMs, tries: 2 })
    if (discovery !== undefined) resolver.setServers(discovery.servers)
    // Queries still out at shutdown end with ECANCELLED instead of holding the process.
    yield* Effect.addFinalizer(() => Effect.sync(() => resolver.cancel()))
    return DnsResolver.of({
      resolve: (host, family) =>
        Effect.promise((): Promise<FamilyAnswer> =>
          (family === 4 ? resolver.resolve4(host, { ttl: true }) : resolver.resolve6(host, { ttl: true })).then(
            (records) => ({ _tag: "Records", records }),
            answerOf
          )
        )
    })
  })
)
