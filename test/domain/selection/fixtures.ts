/** Pools and request facts for strategy tests: plain data, as the registry would hold it. */
import { defaultPolicy } from "../../../src/domain/BackendPolicy.ts"
import { initialState } from "../../../src/domain/BackendState.ts"
import type { BackendState } from "../../../src/domain/BackendState.ts"
import type { RequestFacts, SelectionEnv, StrategySettings } from "../../../src/domain/selection/Strategy.ts"

export const pool = (
  weights: ReadonlyArray<number>,
  tweak: (state: BackendState, index: number) => BackendState = (state) => state
): Array<BackendState> =>
  weights.map((weight, index) =>
    tweak(initialState({ name: `b${index}`, url: `http://10.0.0.${index}:80`, weight }, defaultPolicy), index)
  )

export const facts: RequestFacts = { clientAddress: "127.0.0.1", path: "/", header: () => undefined }

export const env: SelectionEnv = { random: () => 0.5, now: () => 0 }

export const settings: StrategySettings = { hashKey: "client-ip" }
