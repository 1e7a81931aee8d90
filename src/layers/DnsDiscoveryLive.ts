/**
 * DNS discovery (`discovery: dns`): for each such backend, a fiber that resolves its host's A and
 * AAAA records, makes the registry's members match the answer (`discovery/DnsMembers.ts`), and
 * sleeps on Effect's `Clock` until the answer expires (`discovery/DnsAnswer.ts`) — one per source,
 * in a `FiberMap`. Every source is resolved once before the layer is built, so the listeners open
 * with the members already there.
 *
 * Membership changes are applied as a reload's are, through the `ReloadTarget` underneath (this
 * process's data path, or with `workers` the supervisor's registry and every worker), with the
 * config in force unchanged. And this layer is itself the `ReloadTarget` the reloader applies to:
 * a reload (or a backends-API change) reaches the data path first, then discovery follows the new
 * config — a new source is resolved at once, a changed one starts over, a removed one stops. The
 * reload diff has already kept, updated or removed the members (`ConfigDiff.diffBackends`); for a
 * change that did not (the backends API edits a source, not its members), `followSources` does.
 *
 * It runs where the registry's truth is: in the one process, or in the supervisor.
 */
import { Clock, Effect, FiberMap, Layer } from "effect"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { poolsOf } from "../domain/config/ConfigLoader.ts"
import { resolve } from "../domain/discovery/DnsAnswer.ts"
import type { FamilyAnswer, Resolution } from "../domain/discovery/DnsAnswer.ts"
import { addressOf, followSources, hostOf, membershipEvents, membersOf } from "../domain/discovery/DnsMembers.ts"
import type { DiscoverySource } from "../domain/discovery/DnsMembers.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import { DnsResolver } from "../services/DnsResolver.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { ReloadTarget } from "../services/ReloadTarget.ts"

/** A `discovery: dns` backend and its pool's policy: what one fiber follows. */
interface Source extends DiscoverySource {
  /** Both, as JSON: a reload that leaves it alone leaves the fiber alone. */
  readonly key: string
}

const sourcesOf = (config: Config): ReadonlyMap<string, Source> =>
  new Map(
    poolsOf(config).flatMap((pool) =>
      pool.discovered.map((
        spec
      ) => [spec.name, { spec, policy: pool.policy, key: JSON.stringify([spec, pool.policy]) }])
    )
  )

const seconds = (ms: number): string => `${ms / 1_000} s`

export const DnsDiscoveryLive = Layer.effect(
  ReloadTarget,
  Effect.gen(function*() {
    const target = yield* ReloadTarget
    const registry = yield* BackendRegistry
    const clock = yield* Clock.Clock
    const { resolve: query } = yield* DnsResolver
    const source = yield* ConfigSource
    let inForce = yield* ProxyConfig
    // Only a worker decodes the text, and workers need a config read from a file.
    let text = source.text ?? ""
    const following = new Map(sourcesOf(inForce))
    const fibers = yield* FiberMap.make<string>()

    /**
     * Makes the members of `followed` match what `v4` and `v6` say, unless a reload has replaced
     * it meanwhile (then `undefined`: its fiber is being replaced too). Synchronous, so no reload
     * falls between reading the members and changing them.
     */
    const settle = (
      followed: Source,
      [v4, v6]: readonly [FamilyAnswer, FamilyAnswer],
      failures: number,
      at: number
    ) => {
      if (following.get(followed.spec.name) !== followed) return undefined
      const members = membersOf(followed.spec, registry.all())
      const resolution = resolve(members.map((state) => addressOf(state.spec)), v4, v6, failures)
      const events = membershipEvents(followed.spec, followed.policy, members, resolution.addresses, at)
      if (events.length > 0) target.apply({ next: inForce, text, events })
      return { resolution, events }
    }

    const round = Effect.fn("DnsDiscovery.round")(function*(followed: Source, failures: number) {
      const host = hostOf(followed.spec)
      const answers = yield* Effect.all([query(host, 4), query(host, 6)], { concurrency: 2 })
      const settled = settle(followed, answers, failures, yield* Clock.currentTimeMillis)
      if (settled === undefined) return undefined
      const { events, resolution } = settled
      const about = `DNS discovery of ${followed.spec.name} (${host})`
      if (events.length > 0) {
        const joined = events.flatMap((event) => event._tag === "BackendAdded" ? [event.spec.name] : [])
        const left = events.flatMap((event) => event._tag === "BackendRemoved" ? [event.backend] : [])
        yield* Effect.logInfo(
          `${about}: ${joined.length} joined${joined.length === 0 ? "" : ` (${joined.join(", ")})`}, ` +
            `${left.length} left${left.length === 0 ? "" : ` (${left.join(", ")})`}`
        )
      }
      // One warning per failure streak, and a word when it ends.
      if (resolution.failure !== undefined && failures === 0) {
        yield* Effect.logWarning(
          `${about} failed: ${resolution.failure}; keeping its ${resolution.addresses.length} addresses in use, ` +
            `retrying in ${seconds(resolution.nextInMs)} and backing off while it fails`
        )
      }
      if (resolution.failure === undefined && failures > 0) {
        yield* Effect.logInfo(`${about} answers again, after ${failures} failed resolutions`)
      }
      return resolution
    })

    /** Resolves again whenever the last answer expires, for as long as `followed` is in force. */
    const follow = Effect.fnUntraced(function*(followed: Source, first: Resolution | undefined) {
      let last = first
      while (last !== undefined) {
        yield* Effect.sleep(last.nextInMs)
        last = yield* round(followed, last.failures)
      }
    })

    const firsts = yield* Effect.forEach(following.values(), (followed) => round(followed, 0), {
      concurrency: "unbounded"
    })
    yield* Effect.forEach(
      following.values(),
      (followed, index) => FiberMap.run(fibers, followed.spec.name, follow(followed, firsts[index])),
      { discard: true }
    )

    const runFork = Effect.runForkWith(yield* Effect.context())
    return ReloadTarget.of({
      apply: (change) => {
        target.apply(change)
        inForce = change.next
        text = change.text
        const next = sourcesOf(change.next)
        const at = clock.currentTimeMillisUnsafe()
        const followUp = followSources([...following.values()], [...next.values()], registry.all(), at)
        if (followUp.length > 0) target.apply({ next: inForce, text, events: followUp })
        for (const name of following.keys()) {
          if (next.has(name)) continue
          following.delete(name)
          runFork(FiberMap.remove(fibers, name))
        }
        for (const [name, followed] of next) {
          if (following.get(name)?.key === followed.key) continue
          following.set(name, followed)
          runFork(
            FiberMap.run(fibers, name, round(followed, 0).pipe(Effect.flatMap((first) => follow(followed, first))))
          )
        }
      }
    })
  })
)
