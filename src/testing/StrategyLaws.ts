/**
 * The laws every strategy obeys, whatever its algorithm, as a check a test runs on a strategy of
 * its own: the built-in ones pass it (`test/domain/selection/Eligibility.test.ts`), and so must
 * an embedding program's before its config may name it. Imported as `switchyard/testing`, apart
 * from the library, because it needs fast-check (a dev dependency of the test, not of the proxy).
 *
 * The laws: a selector built from any pool picks only a selectable backend
 * (`Availability.isSelectable`: not removed, healthy, circuit not open, under `maxConnections`,
 * not excluded by the retry), and returns `undefined` exactly when there is none. Pools mix every
 * reason a backend may not be used; hash keys, clients and paths vary.
 */
import fc from "fast-check"
import { isSelectable } from "../domain/Availability.ts"
import { defaultPolicy } from "../domain/BackendPolicy.ts"
import { initialState } from "../domain/BackendState.ts"
import type { BackendState } from "../domain/BackendState.ts"
import type { Circuit } from "../domain/breaker/Circuit.ts"
import type { RequestFacts, Strategy } from "../domain/selection/Strategy.ts"

const circuit: fc.Arbitrary<Circuit> = fc.oneof(
  fc.constant<Circuit>({ _tag: "Closed", failures: 0 }),
  fc.constant<Circuit>({ _tag: "Open", until: 1_000, trips: 1, reason: "5 failures" }),
  fc.nat(2).map((trialsInFlight): Circuit => ({ _tag: "HalfOpen", trips: 1, trialsInFlight, successes: 0 }))
)

const estimate = fc.option(
  fc.record({ value: fc.double({ min: 0, max: 500, noNaN: true }), at: fc.nat(20_000), samples: fc.nat(20) }),
  { nil: undefined }
)

const backend = fc.record({
  weight: fc.integer({ min: 1, max: 5 }),
  removed: fc.boolean(),
  healthy: fc.boolean(),
  circuit,
  inFlight: fc.nat(6),
  maxConnections: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  latency: estimate,
  peakLatency: estimate,
  excluded: fc.boolean()
})

const scenario = fc.record({
  backends: fc.array(backend, { minLength: 0, maxLength: 12 }),
  seed: fc.integer(),
  now: fc.nat(30_000),
  clients: fc.array(fc.ipV4(), { minLength: 1, maxLength: 5 }),
  retry: fc.boolean()
})

type Shape = typeof backend extends fc.Arbitrary<infer T> ? T : never

const stateOf = (shape: Shape, index: number): BackendState => {
  const state = initialState(
    { name: `b${index}`, url: `http://10.0.0.${index}:80`, weight: shape.weight },
    defaultPolicy
  )
  return {
    ...state,
    spec: shape.maxConnections === undefined ? state.spec : { ...state.spec, maxConnections: shape.maxConnections },
    removed: shape.removed,
    healthy: shape.healthy,
    circuit: shape.circuit,
    inFlight: shape.inFlight,
    latency: shape.latency,
    peakLatency: shape.peakLatency
  }
}

/** mulberry32 (Tommy Ettinger): seeded uniform doubles in [0, 1), so a failing case replays exactly. */
export const mulberry32 = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const factsFrom = (client: string, path: string): RequestFacts => {
  const headers: Record<string, string> = { "x-user": client, cookie: `theme=dark; sid=${client}` }
  return { clientAddress: client, path, header: (name) => headers[name] }
}

/** Why `pick` breaks the laws for this pool, or `undefined` when it keeps them. */
const violation = (
  pick: BackendState | undefined,
  states: ReadonlyArray<BackendState>,
  excluded: ReadonlySet<string> | undefined
): string | undefined => {
  const anySelectable = states.some((state) => isSelectable(state, excluded))
  if (!anySelectable) return pick === undefined ? undefined : `picked ${pick.spec.name} although none is selectable`
  if (pick === undefined) return "picked nothing although a backend is selectable"
  if (!states.includes(pick)) return "picked a state that is not one of the pool's"
  if (pick.removed) return `picked ${pick.spec.name}, removed`
  if (!pick.healthy) return `picked ${pick.spec.name}, unhealthy`
  if (pick.circuit._tag === "Open") return `picked ${pick.spec.name}, its circuit open`
  const cap = pick.spec.maxConnections
  if (cap !== undefined && pick.inFlight >= cap) return `picked ${pick.spec.name}, full`
  if (excluded?.has(pick.spec.name) === true) return `picked ${pick.spec.name}, excluded by the retry`
  return isSelectable(pick, excluded) ? undefined : `picked ${pick.spec.name}, not selectable`
}

/**
 * Throws (fast-check's report: the shrunk pool and the broken law) unless `strategy` keeps the
 * laws on `numRuns` generated pools (100 by default); `seed` replays a reported failure.
 */
export const checkStrategyLaws = (
  strategy: Strategy,
  options?: { readonly numRuns?: number; readonly seed?: number }
): void =>
  fc.assert(
    fc.property(scenario, ({ backends, clients, now, retry, seed }) => {
      const states = backends.map(stateOf)
      const excluded = retry
        ? new Set(states.filter((_, i) => backends[i]?.excluded === true).map((s) => s.spec.name))
        : undefined
      const env = { random: mulberry32(seed), now: () => now }
      for (const hashKey of ["client-ip", "path", "header:X-User", "cookie:sid"]) {
        const selector = strategy.build(states, env, { hashKey })
        for (const client of clients) {
          for (let i = 0; i < 4; i++) {
            const broken = violation(selector.pick(states, factsFrom(client, `/p/${i}`), excluded), states, excluded)
            if (broken !== undefined) throw new Error(`${strategy.name} (hashKey ${hashKey}): ${broken}`)
          }
        }
      }
    }),
    {
      ...(options?.numRuns === undefined ? {} : { numRuns: options.numRuns }),
      ...(options?.seed === undefined ? {} : { seed: options.seed })
    }
  )
