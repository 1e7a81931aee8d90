/**
 * Latency estimates that weigh recent responses more, with time (not sample count) as the weight,
 * so a backend answering 1,000 requests a second and one answering 1 are averaged over the same
 * horizon. Measuring only: strategies read the estimates, they never update them.
 *
 * Both estimates live in a backend's state and move on each observed response time `rtt` at time
 * `t`, with `w = exp(-(t - at) / decay)` for the time since the previous observation:
 *
 * - average (`least-ewma`, `least-dynamic-score`): `estimate' = estimate * w + rtt * (1 - w)`;
 * - peak (`p2c-ewma`, after Finagle's PeakEwma and tower's `peak_ewma.rs`): a response slower
 *   than the estimate replaces it at once; a faster one moves it like the average does. The
 *   estimate is pessimistic: one slow response is felt immediately, recovery takes time.
 *
 * Reading an estimate at `now` decays it toward zero for the time nothing has been observed
 * (`estimate * exp(-(now - at) / decay)`, as tower's `load()` does). Without that, a backend that
 * was slow once would never be picked again, so never measured again.
 */

export interface Estimate {
  /** Milliseconds. */
  readonly value: number
  /** When it was last observed, epoch ms. */
  readonly at: number
}

const weight = (elapsedMs: number, decayMs: number): number => Math.exp(-Math.max(0, elapsedMs) / decayMs)

/** The first observation is the estimate; later ones are averaged in by elapsed time. */
export const observeAverage = (
  previous: Estimate | undefined,
  rttMs: number,
  at: number,
  decayMs: number
): Estimate => {
  if (previous === undefined) return { value: rttMs, at }
  const w = weight(at - previous.at, decayMs)
  return { value: previous.value * w + rttMs * (1 - w), at }
}

/** Like `observeAverage`, but a response slower than the estimate becomes the estimate at once. */
export const observePeak = (
  previous: Estimate | undefined,
  rttMs: number,
  at: number,
  decayMs: number
): Estimate =>
  previous === undefined || rttMs > previous.value ? { value: rttMs, at } : observeAverage(previous, rttMs, at, decayMs)

/** The estimate as seen at `now`: decayed toward zero since it was last observed. */
export const read = (estimate: Estimate, now: number, decayMs: number): number =>
  estimate.value * weight(now - estimate.at, decayMs)

/** Expected wait for one more request: latency estimate times the requests it would queue behind. */
export const cost = (latencyMs: number, inFlight: number): number => latencyMs * (inFlight + 1)

/** Linkerd's and Finagle's default for a backend with no measurement yet. */
export const defaultRttMs = 30
