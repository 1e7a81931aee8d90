/**
 * The strategy lab's random quantities, each written as a quantile function of one uniform draw
 * `u` in [0, 1): latency distributions (fixed, uniform, lognormal, bimodal) and the gaps of a
 * Poisson process. Drawing through quantiles keeps them pure and easy to test (bounds and order
 * follow from the formula), and it lets the lab give a request the same `u` whichever backend
 * serves it ("common random numbers"), so strategies are compared on the same luck.
 *
 * The uniform draws themselves come from Effect's seeded `Random` (see `lab/StrategyRun.ts`).
 */

/** A latency distribution in milliseconds. */
export type Latency =
  | { readonly _tag: "Fixed"; readonly ms: number }
  | { readonly _tag: "Uniform"; readonly minMs: number; readonly maxMs: number }
  /** `exp(mu + sigma·Z)` milliseconds for a standard normal `Z`: the median is `exp(mu)`. */
  | { readonly _tag: "Lognormal"; readonly mu: number; readonly sigma: number }
  /** `fast` with probability `1 - slowFraction`, else `slow`: a cache hit or miss, a GC pause. */
  | { readonly _tag: "Bimodal"; readonly fast: Latency; readonly slow: Latency; readonly slowFraction: number }
  /**
   * Measured: latencies at evenly spaced quantiles, ascending (the first the minimum, the last the
   * maximum), linearly interpolated between; what a replay fits from an access log.
   */
  | { readonly _tag: "Empirical"; readonly points: Float64Array }

/** The 99th percentile of the standard normal distribution. */
export const z99 = 2.3263478740408408

/**
 * The lognormal with this median and 99th percentile (both in ms, `p99 > median`): what people
 * know about a service's latency, rather than `mu` and `sigma`.
 */
export const lognormalFromPercentiles = (medianMs: number, p99Ms: number): Latency => ({
  _tag: "Lognormal",
  mu: Math.log(medianMs),
  sigma: (Math.log(p99Ms) - Math.log(medianMs)) / z99
})

// Acklam's rational approximation of the inverse normal CDF (relative error below 1.2e-9).
const a = [
  -3.969683028665376e+01,
  2.209460984245205e+02,
  -2.759285104469687e+02,
  1.383577518672690e+02,
  -3.066479806614716e+01,
  2.506628277459239e+00
] as const
const b = [
  -5.447609879822406e+01,
  1.615858368580409e+02,
  -1.556989798598866e+02,
  6.680131188771972e+01,
  -1.328068155288572e+01
] as const
const c = [
  -7.784894002430293e-03,
  -3.223964580411365e-01,
  -2.400758277161838e+00,
  -2.549732539343734e+00,
  4.374664141464968e+00,
  2.938163982698783e+00
] as const
const d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00] as const
const pLow = 0.02425

const tail = (q: number): number =>
  (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
  ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)

/**
 * The standard normal quantile: `Φ⁻¹(p)` for `p` in (0, 1); `-Infinity` at 0. (P. J. Acklam,
 * "An algorithm for computing the inverse normal cumulative distribution function", 2003.)
 */
export const inverseNormal = (p: number): number => {
  if (p <= 0) return Number.NEGATIVE_INFINITY
  if (p >= 1) return Number.POSITIVE_INFINITY
  if (p < pLow) return tail(Math.sqrt(-2 * Math.log(p)))
  if (p > 1 - pLow) return -tail(Math.sqrt(-2 * Math.log(1 - p)))
  const q = p - 0.5
  const r = q * q
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
}

/** The latency (ms) at quantile `u` in [0, 1): never negative, never above the distribution's upper bound. */
export const quantile = (latency: Latency, u: number): number => {
  switch (latency._tag) {
    case "Fixed":
      return latency.ms
    case "Uniform":
      return latency.minMs + u * (latency.maxMs - latency.minMs)
    case "Lognormal":
      return Math.exp(latency.mu + latency.sigma * inverseNormal(u))
    case "Bimodal": {
      const fastFraction = 1 - latency.slowFraction
      return u < fastFraction
        ? quantile(latency.fast, u / fastFraction)
        : quantile(latency.slow, (u - fastFraction) / latency.slowFraction)
    }
    case "Empirical":
      return interpolate(latency.points, u)
  }
}

/** The value at quantile `u` of evenly spaced quantile points, linearly between the two around it. */
export const interpolate = (points: Float64Array, u: number): number => {
  const position = Math.min(1, Math.max(0, u)) * (points.length - 1)
  const below = Math.floor(position)
  const low = points[below] ?? 0
  return low + (position - below) * ((points[below + 1] ?? low) - low)
}

/** The mean latency (ms), for the report's description of a backend. */
export const mean = (latency: Latency): number => {
  switch (latency._tag) {
    case "Fixed":
      return latency.ms
    case "Uniform":
      return (latency.minMs + latency.maxMs) / 2
    case "Lognormal":
      return Math.exp(latency.mu + latency.sigma * latency.sigma / 2)
    case "Bimodal":
      return (1 - latency.slowFraction) * mean(latency.fast) + latency.slowFraction * mean(latency.slow)
    case "Empirical": {
      const { points } = latency
      if (points.length < 2) return points[0] ?? 0
      let area = 0
      for (let i = 1; i < points.length; i++) area += ((points[i - 1] ?? 0) + (points[i] ?? 0)) / 2
      return area / (points.length - 1)
    }
  }
}

/** The gap (ms) to the next arrival of a Poisson process of `ratePerMs`: exponential, by inversion. */
export const exponentialGap = (ratePerMs: number, u: number): number => -Math.log(1 - u) / ratePerMs
