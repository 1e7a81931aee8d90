/**
 * The registry: a map of backend states folded from events, the ordered pool the strategies read,
 * and sliding PubSubs for observers. Seeded from the config's backends at start-up.
 */
import { Clock, Effect, Layer, PubSub } from "effect"
import { defaultPool, poolOf } from "../domain/Backend.ts"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import { backendOf, isRequestEvent } from "../domain/BackendEvent.ts"
import type { BackendState } from "../domain/BackendState.ts"
import { poolsOf } from "../domain/config/ConfigLoader.ts"
import { evolveInPool } from "../domain/PoolEvolve.ts"
import { transitions } from "../domain/Transitions.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

/** Events an observer may fall behind by before it starts losing the oldest ones. */
const observerBuffer = 4_096

/** Whether a change from `before` to `after` can change what a selector precomputes. */
const reshapes = (before: BackendState | undefined, after: BackendState | undefined): boolean =>
  before === undefined || after === undefined || before.removed !== after.removed ||
  before.draining !== after.draining || before.spec !== after.spec ||
  before.policy !== after.policy || before.healthy !== after.healthy || before.circuit._tag !== after.circuit._tag ||
  before.weightPercent !== after.weightPercent

/** How a registry folds an event into a backend's state, given the backend's pool as it stands. */
export type Fold = (
  before: BackendState | undefined,
  event: BackendEvent,
  poolOf: (state: BackendState) => ReadonlyArray<BackendState>
) => BackendState | undefined

export interface RegistryOptions {
  readonly fold: Fold
  /** Told of every request event as it is applied, without the cost of a subscription (a worker's outbox). */
  readonly onRequestEvent?: (event: BackendEvent) => void
  /** States to start from (a worker's copy of the supervisor's), instead of an empty registry. */
  readonly initial?: ReadonlyArray<BackendState>
}

/** A registry with no backends; `BackendRegistryLive` seeds one from the config. */
export const makeBackendRegistry: Effect.Effect<BackendRegistryShape> = Effect.suspend(() =>
  makeRegistry({ fold: evolveInPool })
)

/** A registry folding with `options.fold`: the one truth (`evolveInPool`), or a worker's replica. */
export const makeRegistry = (options: RegistryOptions): Effect.Effect<BackendRegistryShape> =>
  Effect.gen(function*() {
    const { fold, onRequestEvent } = options
    const everything = yield* PubSub.sliding<BackendEvent>(observerBuffer)
    const lifecycle = yield* PubSub.sliding<BackendEvent>(observerBuffer)
    const states = new Map<string, BackendState>()
    let pools = new Map<string, Array<BackendState>>()
    /** Where each member sits: its pool's array and its index in it. */
    let places = new Map<string, { readonly members: Array<BackendState>; readonly index: number }>()
    let version = 0
    const none: ReadonlyArray<BackendState> = []

    const rebuildPools = () => {
      pools = new Map()
      places = new Map()
      for (const [name, state] of states) {
        if (state.removed) continue
        const pool = poolOf(state.spec)
        let members = pools.get(pool)
        if (members === undefined) {
          members = []
          pools.set(pool, members)
        }
        places.set(name, { members, index: members.length })
        members.push(state)
      }
      version++
    }

    for (const state of options.initial ?? []) states.set(state.spec.name, state)
    rebuildPools()

    // The sync publish refuses when a lagging subscriber has filled the buffer; only then is the
    // effectful publish run, whose sliding strategy drops that subscriber's oldest events.

    const publishTo = (observers: PubSub.PubSub<BackendEvent>, event: BackendEvent) => {
      if (!PubSub.publishUnsafe(observers, event)) Effect.runSync(PubSub.publish(observers, event))
    }
    const publish = (event: BackendEvent) => {
      publishTo(everything, event)
      if (!isRequestEvent(event)) publishTo(lifecycle, event)
      else if (onRequestEvent !== undefined) onRequestEvent(event)
    }

    const poolOfState = (state: BackendState) => pools.get(poolOf(state.spec)) ?? none

    const emit = (event: BackendEvent): void => {
      const name = backendOf(event)
      const before = states.get(name)
      const after = fold(before, event, poolOfState)
      if (after === before) {
        publish(event)
        return
      }
      if (after === undefined) states.delete(name)
      else states.set(name, after)

      if (reshapes(before, after)) rebuildPools()
      else if (after !== undefined) {
        const place = places.get(name)
        if (place !== undefined) place.members[place.index] = after
      }
      publish(event)
      if (
        before !== undefined && after !== undefined && before.healthy === after.healthy &&
        before.circuit === after.circuit && before.declined === after.declined
      ) {
        return
      }
      for (const transition of transitions(before, after, event)) publish(transition)
    }

    return {
      emit,
      pool: (name = defaultPool) => pools.get(name) ?? none,
      all: () => Array.from(states.values()),
      get: (name) => states.get(name),
      version: () => version,
      subscribe: (options) => PubSub.subscribe(options?.requests === true ? everything : lifecycle)
    }
  })

export const BackendRegistryLive = Layer.effect(
  BackendRegistry,
  Effect.gen(function*() {
    const config = yield* ProxyConfig
    const registry = yield* makeBackendRegistry
    const at = yield* Clock.currentTimeMillis
    for (const pool of poolsOf(config)) {
      for (const spec of pool.backends) registry.emit({ _tag: "BackendAdded", at, spec, policy: pool.policy })
    }
    return BackendRegistry.of(registry)
  })
)
