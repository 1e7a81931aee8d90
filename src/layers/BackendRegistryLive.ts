/**
 * The registry: a map of backend states folded from events, the ordered pool the strategies read,
 * and a sliding PubSub for observers. Seeded from the config's backends at start-up.
 */
import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import type { BackendEvent } from "../domain/BackendEvent.ts"
import { evolve } from "../domain/BackendState.ts"
import type { BackendState } from "../domain/BackendState.ts"
import { BackendRegistry } from "../services/BackendRegistry.ts"
import type { BackendRegistryShape } from "../services/BackendRegistry.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"

/** Events an observer may fall behind by before it starts losing the oldest ones. */
const observerBuffer = 4_096

const backendOf = (event: BackendEvent): string => event._tag === "BackendAdded" ? event.spec.name : event.backend

/** A registry with no backends; `BackendRegistryLive` seeds one from the config. */
export const makeBackendRegistry: Effect.Effect<BackendRegistryShape> = Effect.gen(function*() {
  const observers = yield* PubSub.sliding<BackendEvent>(observerBuffer)
  const states = new Map<string, BackendState>()
  let pool: Array<BackendState> = []
  let poolIndex = new Map<string, number>()
  let version = 0

  const rebuildPool = () => {
    pool = []
    poolIndex = new Map()
    for (const [name, state] of states) {
      if (state.removed) continue
      poolIndex.set(name, pool.length)
      pool.push(state)
    }
    version++
  }

  const emit = (event: BackendEvent): void => {
    const name = backendOf(event)
    const before = states.get(name)
    const after = evolve(before, event)
    if (after === undefined) states.delete(name)
    else states.set(name, after)

    const wasMember = before !== undefined && !before.removed
    const isMember = after !== undefined && !after.removed
    if (wasMember !== isMember || before?.spec !== after?.spec) rebuildPool()
    else if (after !== undefined) {
      const index = poolIndex.get(name)
      if (index !== undefined) pool[index] = after
    }

    // The sync publish refuses when a lagging subscriber has filled the buffer; only then is the
    // effectful publish run, whose sliding strategy drops that subscriber's oldest events.
    if (!PubSub.publishUnsafe(observers, event)) Effect.runSync(PubSub.publish(observers, event))
  }

  return {
    emit,
    pool: () => pool,
    all: () => Array.from(states.values()),
    get: (name) => states.get(name),
    version: () => version,
    subscribe: PubSub.subscribe(observers).pipe(Effect.map(Stream.fromSubscription))
  }
})

export const BackendRegistryLive = Layer.effect(
  BackendRegistry,
  Effect.gen(function*() {
    const config = yield* ProxyConfig
    const registry = yield* makeBackendRegistry
    const at = yield* Clock.currentTimeMillis
    for (const spec of config.backends) registry.emit({ _tag: "BackendAdded", at, spec })
    return BackendRegistry.of(registry)
  })
)
