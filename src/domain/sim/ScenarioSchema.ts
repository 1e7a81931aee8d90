/**
 * The scenario file of `switchyard simulate`: simulated backends, the traffic sent to them, and
 * the proxy settings under test. Decoding is strict like the config's (unknown keys are errors,
 * every problem at once, see `ScenarioLoader`).
 *
 * The proxy settings are not re-declared here: `proxy:` holds sections of the real config
 * (health checks, breaker, retries, timeouts, EWMA, hashing, outlier detection, slow start), and
 * a backend's `weight` and `maxConnections` are the real config's keys; `ScenarioLoader` has the
 * config schema check them, so they mean and reject exactly what they do in a config file.
 */
import { Effect, Schema } from "effect"
import { StrategyName } from "../config/ConfigSchema.ts"
import { DurationString, PositiveDuration } from "../config/Units.ts"

const withDefault = <S extends Schema.Constraint>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

const Percent = Schema.Number.check(
  Schema.isBetween({ minimum: 0, maximum: 100 }, { message: "Expected a percentage from 0 to 100" })
)

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

const PositiveNumber = Schema.Number.check(Schema.isGreaterThan(0))

export const UniformLatency = Schema.Struct({ min: DurationString, max: PositiveDuration })

/** Either `median` and `p99`, or `mu` and `sigma` of the natural log of the latency in ms. */
export const LognormalLatency = Schema.Struct({
  median: Schema.optionalKey(PositiveDuration),
  p99: Schema.optionalKey(PositiveDuration),
  mu: Schema.optionalKey(Schema.Finite),
  sigma: Schema.optionalKey(PositiveNumber)
})

const singleModes = {
  fixed: Schema.optionalKey(DurationString),
  uniform: Schema.optionalKey(UniformLatency),
  lognormal: Schema.optionalKey(LognormalLatency)
}

/** One of `fixed`, `uniform` or `lognormal`: a mode of a bimodal latency. */
export const LatencyMode = Schema.Struct(singleModes)

export const BimodalLatency = Schema.Struct({
  fast: LatencyMode,
  slow: LatencyMode,
  slowPercent: Percent
})

/** Exactly one of `fixed`, `uniform`, `lognormal` or `bimodal` (checked by the loader). */
export const LatencySpec = Schema.Struct({ ...singleModes, bimodal: Schema.optionalKey(BimodalLatency) })

export const latencyKinds = ["fixed", "uniform", "lognormal", "bimodal"] as const

/** From `at` on, the backend behaves as this says; what it leaves out stays as it was. */
export const BackendChange = Schema.Struct({
  at: DurationString,
  /** Its latency, times this (1 undoes an earlier slowdown). */
  slowdown: Schema.optionalKey(PositiveNumber),
  errorPercent: Schema.optionalKey(Percent),
  resetPercent: Schema.optionalKey(Percent),
  overloadPercent: Schema.optionalKey(Percent),
  /** Down: connections are refused and in-flight requests reset. `false` brings it back. */
  down: Schema.optionalKey(Schema.Boolean)
})

export const SimBackend = Schema.Struct({
  /** The backend's name in the proxy: the config's naming rule applies. */
  name: Schema.String,
  latency: LatencySpec,
  /** Requests answered with a 500. */
  errorPercent: Percent.pipe(withDefault(0)),
  /** Requests whose connection is reset before the answer (a crash, a proxy in between). */
  resetPercent: Percent.pipe(withDefault(0)),
  /** Requests shed at once with `503` and `Retry-After: retryAfter` (the backend is overloaded). */
  overloadPercent: Percent.pipe(withDefault(0)),
  retryAfter: DurationString.pipe(withDefault("1s")),
  /** Concurrent requests it serves at full speed; beyond, latency grows with the excess. */
  capacity: Schema.optionalKey(PositiveInt),
  /** The config's `weight` (checked by the config schema). */
  weight: Schema.optionalKey(Schema.Unknown),
  /** The config's `maxConnections` (checked by the config schema). */
  maxConnections: Schema.optionalKey(Schema.Unknown),
  changes: Schema.optionalKey(Schema.Array(BackendChange))
})

export const TrafficSpec = Schema.Struct({
  duration: PositiveDuration,
  /** Requests per second. */
  rate: PositiveNumber,
  /** `poisson`: independent arrivals (exponential gaps); `fixed`: evenly spaced. */
  arrivals: Schema.Literals(["poisson", "fixed"]).pipe(withDefault("poisson")),
  /** Distinct client addresses, for `ip-hash` and `consistent-hash`. */
  clients: PositiveInt.pipe(withDefault(100)),
  /** Requests sent as a POST with a body: never sent twice once bytes reached a backend. */
  postPercent: Percent.pipe(withDefault(0)),
  /** Requests from one client (the first), a hot key for the hash strategies; the rest spread evenly. */
  hotClientPercent: Percent.pipe(withDefault(0))
})

/** The config sections a scenario may set; the listener, admin and the like mean nothing here. */
export const proxySections = [
  "healthCheck",
  "circuitBreaker",
  "retry",
  "timeouts",
  "ewma",
  "consistentHash",
  "outlierDetection",
  "slowStart"
] as const

export const ProxySection = Schema.Struct({
  healthCheck: Schema.optionalKey(Schema.Unknown),
  circuitBreaker: Schema.optionalKey(Schema.Unknown),
  retry: Schema.optionalKey(Schema.Unknown),
  timeouts: Schema.optionalKey(Schema.Unknown),
  ewma: Schema.optionalKey(Schema.Unknown),
  consistentHash: Schema.optionalKey(Schema.Unknown),
  outlierDetection: Schema.optionalKey(Schema.Unknown),
  slowStart: Schema.optionalKey(Schema.Unknown)
})

export const ScenarioSchema = Schema.Struct({
  /** One line saying what the scenario shows; printed above the results. */
  description: Schema.optionalKey(Schema.String),
  traffic: TrafficSpec,
  backends: Schema.Array(SimBackend).check(Schema.isMinLength(1, { message: "Expected at least one backend" })),
  proxy: Schema.optionalKey(ProxySection),
  /** The strategies compared when `--strategies` is not given (all of them when absent). */
  strategies: Schema.optionalKey(
    Schema.Array(StrategyName).check(Schema.isMinLength(1, { message: "Expected at least one strategy" }))
  )
})

export type DecodedScenario = typeof ScenarioSchema.Type
