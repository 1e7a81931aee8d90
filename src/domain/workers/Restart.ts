/**
 * When to restart a worker that died. One that ran a while is restarted at once; one that keeps
 * dying young (a crash on start-up, a poisoned config) backs off, so that a crash loop costs
 * little CPU and leaves the others serving.
 */

/** A worker that lived this long is not part of a crash loop. */
export const settledAfterMs = 10_000

const firstDelayMs = 100
const maxDelayMs = 5_000

/** The delay before restart, given how many times in a row the worker died young (this time included). */
export const restartDelayMs = (youngDeaths: number): number =>
  youngDeaths <= 0 ? firstDelayMs : Math.min(maxDelayMs, firstDelayMs * 2 ** (youngDeaths - 1))
