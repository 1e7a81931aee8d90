/**
 * The one rule every strategy in the table obeys, whatever its algorithm: it picks only a
 * selectable backend (`Availability.isSelectable`), and returns `undefined` exactly when there is
 * none. Pools here mix every reason a backend may not be used.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { isSelectable } from "../../../src/domain/Availability.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { Circuit } from "../../../src/domain/breaker/Circuit.ts"
import { strategies, strategyNames } from "../../../src/domain/selection/Strategies.ts"
import { factsFrom, mulberry32, pool } from "./fixtures.ts"

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

const build = (shape: Shape, state: BackendState): BackendState => ({
  ...state,
  spec: shape.maxConnections === undefined
    ? { ...state.spec, weight: shape.weight }
    : { ...state.spec, weight: shape.weight, maxConnections: shape.maxConnections },
  removed: shape.removed,
  healthy: shape.healthy,
  circuit: shape.circuit,
  inFlight: shape.inFlight,
  latency: shape.latency,
  peakLatency: shape.peakLatency
})

describe("every strategy in the table", () => {
  for (const name of strategyNames) {
    it(`property: ${name} picks only a selectable backend, and none only when none is`, () => {
      fc.assert(fc.property(scenario, ({ backends, clients, now, retry, seed }) => {
        const states = pool(backends.map((b) => b.weight), (state, i) => {
          const shape = backends[i]
          return shape === undefined ? state : build(shape, state)
        })
        const excluded = retry
          ? new Set(states.filter((_, i) => backends[i]?.excluded === true).map((s) => s.spec.name))
          : undefined
        const env = { random: mulberry32(seed), now: () => now }
        const anySelectable = states.some((state) => isSelectable(state, excluded))
        for (const hashKey of ["client-ip", "path", "header:X-User", "cookie:sid"]) {
          const selector = strategies[name].build(states, env, { hashKey })
          for (const client of clients) {
            for (let i = 0; i < 4; i++) {
              const headers = { "x-user": client, cookie: `theme=dark; sid=${client}` }
              const pick = selector.pick(states, factsFrom(client, headers, `/p/${i}`), excluded)
              if (!anySelectable) {
                assert.isUndefined(pick)
                continue
              }
              if (pick === undefined) return assert.fail(`${name} found nothing although a backend is selectable`)
              assert.include(states, pick)
              assert.isFalse(pick.removed, "removed")
              assert.isTrue(pick.healthy, "unhealthy")
              assert.notStrictEqual(pick.circuit._tag, "Open", "circuit open")
              const cap = pick.spec.maxConnections
              assert.isFalse(cap !== undefined && pick.inFlight >= cap, "full")
              assert.isFalse(excluded?.has(pick.spec.name) === true, "excluded by the retry")
              assert.isTrue(isSelectable(pick, excluded))
            }
          }
        }
      }))
    })
  }

  it("the table names each strategy by its own name", () => {
    for (const name of strategyNames) assert.strictEqual(strategies[name].name, name)
  })
})
