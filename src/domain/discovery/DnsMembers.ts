/**
 * The members DNS discovery makes of a configured backend (`discovery: dns`): one per address of
 * its URL's host, named `name@address`, each the configured backend with the host replaced by the
 * address (port, path, weight, pool and protocol kept). The configured backend is not a member
 * itself, only their source, and `resolvedFrom` ties each member back to it.
 *
 * Membership is read from the registry, never kept beside it: the members a source has now are
 * the last answer that was used, and `membershipEvents` turns a new answer into the joins and
 * leaves that make the registry match it. The reload diff reads them the same way
 * (`discoveredMembers`), so a reload keeps what discovery found.
 */
import type { BackendSpec } from "../Backend.ts"
import type { BackendEvent } from "../BackendEvent.ts"
import type { BackendPolicy } from "../BackendPolicy.ts"
import type { BackendState } from "../BackendState.ts"

/** The host name a source resolves (never an address: the config refuses one). */
export const hostOf = (source: BackendSpec): string => new URL(source.url).hostname

/**
 * An address as the URL parser writes it, so that an address read back from a member's URL is the
 * one the answer gave (`::ffff:1.2.3.4` and `::ffff:102:304` are one address).
 */
export const canonicalAddress = (address: string): string => {
  if (!address.includes(":")) return address
  const host = new URL(`http://[${address}]`).hostname
  return host.slice(1, -1)
}

/** The address a member is at: its URL's host, without the brackets of an IPv6 one. */
export const addressOf = (member: BackendSpec): string => {
  const host = new URL(member.url).hostname
  return host.startsWith("[") ? host.slice(1, -1) : host
}

export const memberName = (source: BackendSpec, address: string): string => `${source.name}@${address}`

/** The source's spec at one of its addresses (canonical, see `canonicalAddress`). */
export const memberSpec = (source: BackendSpec, address: string): BackendSpec => {
  const url = new URL(source.url)
  const host = url.hostname
  url.hostname = address.includes(":") ? `[${address}]` : address
  return { ...source, name: memberName(source, address), url: url.href, resolvedFrom: host }
}

/** A member's policy: its pool's, and with health checks on, probed before it takes traffic. */
export const memberPolicy = (policy: BackendPolicy): BackendPolicy =>
  policy.probe === undefined ? policy : { ...policy, probeBeforeTraffic: true }

/** Whether a backend is one of `source`'s members: found for its host, and named after it. */
export const isMemberOf = (source: BackendSpec, member: BackendSpec): boolean =>
  member.resolvedFrom === hostOf(source) && member.name.startsWith(`${source.name}@`)

/** The registry's live members of `source` (removed ones finishing their requests left out). */
export const membersOf = (source: BackendSpec, states: ReadonlyArray<BackendState>): ReadonlyArray<BackendState> =>
  states.filter((state) => !state.removed && isMemberOf(source, state.spec))

/**
 * What the members of `source` should be, spec and policy, for those the registry has now: what a
 * reload compares them with, so that a changed weight or policy reaches every address and a
 * source that is gone, or now names another host, leaves nobody behind.
 */
export const discoveredMembers = (
  source: BackendSpec,
  policy: BackendPolicy,
  states: ReadonlyArray<BackendState>
): ReadonlyArray<{ readonly spec: BackendSpec; readonly policy: BackendPolicy }> =>
  membersOf(source, states).map((state) => ({
    spec: memberSpec(source, addressOf(state.spec)),
    policy: memberPolicy(policy)
  }))

/**
 * The events that turn the members of `source` into one per address in `addresses`: joins for
 * the new addresses, in the answer's order, then leaves for the vanished ones (which finish what
 * they have in flight). None when the answer is what the registry already has.
 */
export const membershipEvents = (
  source: BackendSpec,
  policy: BackendPolicy,
  members: ReadonlyArray<BackendState>,
  addresses: ReadonlyArray<string>,
  at: number
): ReadonlyArray<BackendEvent> => {
  const present = new Set(members.map((state) => addressOf(state.spec)))
  const wanted = new Set(addresses)
  const joins = [...wanted].filter((address) => !present.has(address)).map((address): BackendEvent => ({
    _tag: "BackendAdded",
    at,
    spec: memberSpec(source, address),
    policy: memberPolicy(policy)
  }))
  const leaves = members.filter((state) => !wanted.has(addressOf(state.spec))).map((state): BackendEvent => ({
    _tag: "BackendRemoved",
    at,
    backend: state.spec.name
  }))
  return [...joins, ...leaves]
}

/** A `discovery: dns` backend with its pool's policy, as the config in force has it. */
export interface DiscoverySource {
  readonly spec: BackendSpec
  readonly policy: BackendPolicy
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * What a change from the sources `before` to those `after` means for the members they made, when
 * the change itself said nothing of them (the backends API edits a source, not its members):
 * members of a source that is gone, or now names another host, leave; the others take their
 * source's new spec and policy. After a reload it is nothing: its diff did the same already.
 */
export const followSources = (
  before: ReadonlyArray<DiscoverySource>,
  after: ReadonlyArray<DiscoverySource>,
  states: ReadonlyArray<BackendState>,
  at: number
): ReadonlyArray<BackendEvent> => {
  const current = new Map(states.map((state) => [state.spec.name, state]))
  const kept = after.flatMap((source) => discoveredMembers(source.spec, source.policy, states))
  const keptNames = new Set(kept.map((member) => member.spec.name))
  const updates = kept.flatMap(({ policy, spec }): ReadonlyArray<BackendEvent> => {
    const state = current.get(spec.name)
    return state === undefined || (same(state.spec, spec) && same(state.policy, policy))
      ? []
      : [{ _tag: "BackendAdded", at, spec, policy }]
  })
  const leaves = before.flatMap((source) => membersOf(source.spec, states))
    .filter((state) => !keptNames.has(state.spec.name))
    .map((state): BackendEvent => ({ _tag: "BackendRemoved", at, backend: state.spec.name }))
  return [...updates, ...leaves]
}
