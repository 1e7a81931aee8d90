/**
 * Latency estimates that weigh recent responses more, with time (not sample count) as the weight,
 * so a backend answering 1,000 requests a second and one answering 1 are averaged over the same
 * horizon. Measuring only: strategies read the estimates, they never update them.
 *
 * Both estimates live in a backend's state and move on each observed response time `rtt` at time
 * `t` by a share `α` of the way to it, with `1 − e^(−(t − at)/decay)` for the time since the
 * previous observation:
 *
 * - average (`least-ewma`, `least-dynamic-score`): `estimate' = estimate · (1 − α) + rtt · α`;
 * - peak (`p2c-ewma`, after Finagle's PeakEwma and tower's `peak_ewma.rs`): a response slower
 *   than the estimate replaces it at once; a faster one moves it like the average does. The
 *   estimate is pessimistic: one slow response is felt immediately, recovery takes time.
 *
 * **Warm-up.** Weighing by time alone, an estimate would be its first sample for a long while:
 * responses 50 ms apart with a 10 s decay move it by 0.5 % each, so a backend whose first answer
 * happened to be fast kept looking fast through dozens of slow ones, and a strategy kept choosing
 * it over a faster backend it had not measured. So the first `warmupSamples` responses weigh at
 * least as much as they would in a plain mean:
 *
 *     α = max(1 − e^(−(t − at)/decay), 1/n)   while n ≤ warmupSamples, n counting this response
 *     α = 1 − e^(−(t − at)/decay)             afterwards
 *
 * (a running mean while the estimate has seen little, the usual warm-up of a cold EWMA). The first
 * response sets the estimate, and each of the next ones moves it at least as far as a mean would:
 * after `k` responses of `x`, however spaced, an estimate that had seen `n₀ < warmupSamples`
 * responses is off from `x` by at most `n₀ / min(n₀ + k, warmupSamples)` of what it was off
 * before (the factors `1 − α ≤ (n − 1)/n` telescope), so from an unmeasured start it is `x`
 * itself, to rounding. Past the warm-up the estimate moves by time only, as the time-weighting intends. A
 * peak estimate primed with a default (`ewma.defaultRtt`) has seen no response, so the first one
 * replaces it.
 *
 * Reading an estimate at `now` decays it toward zero for the time nothing has been observed
 * (`estimate · e^(−(now − at)/decay)`, as tower's `load()` does). Without that, a backend that
 * was slow once would never be picked again, so never measured again. The decayed read is for
 * choosing only: what a backend has been measured at is `value`, which is what metrics report.
 */

export interface Estimate {
  /** Milliseconds. */
  readonly value: number
  /** When it was last observed, epoch ms. */
  readonly at: number
  /** Responses observed; 0 for a default no response has confirmed yet. */
  readonly samples: number
}

/** How many first responses weigh at least as in a mean (`1/n`), whatever their spacing. */
export const warmupSamples = 10

/** The share of the way to a new sample that an estimate of `samples` responses moves. */
const recency = (elapsedMs: number, decayMs: number, samples: number): number => {
  const byTime = 1 - Math.exp(-Math.max(0, elapsedMs) / decayMs)
  return samples < warmupSamples ? Math.max(byTime, 1 / (samples + 1)) : byTime
}

/** The first observation is the estimate; later ones are averaged in (warm-up, then elapsed time). */
export const observeAverage = (
  previous: Estimate | undefined,
  rttMs: number,
  at: number,
  decayMs: number
): Estimate => {
  if (previous === undefined) return { value: rttMs, at, samples: 1 }
  const alpha = recency(at - previous.at, decayMs, previous.samples)
  return { value: previous.value * (1 - alpha) + rttMs * alpha, at, samples: previous.samples + 1 }
}

/** Like `observeAverage`, but a response slower than the estimate becomes the estimate at once. */
export const observePeak = (
  previous: Estimate | undefined,
  rttMs: number,
  at: number,
  decayMs: number
): Estimate =>
  previous === undefined || rttMs > previous.value
    ? { value: rttMs, at, samples: previous === undefined ? 1 : previous.samples + 1 }
    : observeAverage(previous, rttMs, at, decayMs)

/** The estimate as seen at `now`: decayed toward zero since it was last observed. */
export const read = (estimate: Estimate, now: number, decayMs: number): number =>
  estimate.value * Math.exp(-Math.max(0, now - estimate.at) / decayMs)

/** Expected wait for one more request: latency estimate times the requests it would queue behind. */
export const cost = (latencyMs: number, inFlight: number): number => latencyMs * (inFlight + 1)

/**
 * Linkerd's and Finagle's default for a backend with no measurement yet. It decays like an
 * estimate, as tower's (the estimate an endpoint starts with) does: here from the backend's last
 * request, or its joining (`selection/LogCost.ts`).
 */
export const defaultRttMs = 30
