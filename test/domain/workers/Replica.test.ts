/**
 * A worker's replica agrees with the supervisor on every decision: fed its own request events
 * and the supervisor's replicated transitions, it has the same health, circuit state, epoch and
 * warm-up weight after every event, whatever the sequence.
 */
import { describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { BackendEvent } from "../../../src/domain/BackendEvent.ts"
import { evolve } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import { transitions } from "../../../src/domain/Transitions.ts"
import { evolveReplica, isReplicated, seedState, workerSpec } from "../../../src/domain/workers/Replica.ts"
import { added, event, spec } from "../arbitraries.ts"

const decisionsAndRequests = fc.array(
  event.filter((e) => e._tag !== "BackendAdded" && e._tag !== "BackendRemoved"),
  { maxLength: 80 }
)

const agree = (supervisor: BackendState | undefined, replica: BackendState | undefined): boolean =>
  supervisor !== undefined && replica !== undefined && supervisor.healthy === replica.healthy &&
  supervisor.circuit._tag === replica.circuit._tag && supervisor.epoch === replica.epoch &&
  supervisor.weightPercent === replica.weightPercent

describe("the worker's replica", () => {
  it("makes the supervisor's decisions, and only those", () =>
    fc.assert(fc.property(decisionsAndRequests, (events) => {
      let supervisor = evolve(undefined, added)
      if (supervisor === undefined) return false
      let replica: BackendState | undefined = seedState(supervisor, 1)
      for (const observed of events) {
        const before = supervisor
        const after = evolve(before, observed)
        if (after === undefined) return false
        const published: Array<BackendEvent> = [observed, ...transitions(before, after, observed)]
        supervisor = after
        const isOwnRequest = observed._tag === "RequestStarted" || observed._tag === "RequestFinished"
        for (const message of published) {
          if (isOwnRequest && message === observed) replica = evolveReplica(replica, message)
          else if (isReplicated(message)) replica = evolveReplica(replica, message)
        }
        if (!agree(supervisor, replica)) return false
      }
      return true
    })))

  it("holds each worker's share of maxConnections, never less than one", () =>
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 64 }), (max, workers) => {
      const share = workerSpec({ ...spec, maxConnections: max }, workers).maxConnections ?? 0
      return share >= 1 && share * workers >= max && (share - 1) * workers < Math.max(max, workers)
    })))
})
