/**
 * Asks DNS for a host's addresses of one family: the port DNS discovery resolves through, so a
 * test can answer in its place. `DnsResolverLive` asks the config's DNS servers (`discovery.servers`),
 * or the system's, over `dns.Resolver`.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { FamilyAnswer } from "../domain/discovery/DnsAnswer.ts"

export interface DnsResolverShape {
  /**
   * The A (`4`) or AAAA (`6`) records of `host` with their TTLs. Never fails: a query that did
   * not get an answer is an answer too (`Failed`, with the resolver's code), and a name with no
   * records of the family answers none.
   */
  readonly resolve: (host: string, family: 4 | 6) => Effect.Effect<FamilyAnswer>
}

export class DnsResolver extends Context.Service<DnsResolver, DnsResolverShape>()("switchyard/services/DnsResolver") {}
