/**
 * Asks in flight to a store, each with a deadline, watched by one timer instead of one per ask.
 * Every ask has the same timeout, so asks made in order fall due in order: the queue is first in,
 * first out, and the timer only ever needs the first deadline. An ask answered in time is marked
 * settled and dropped when the queue reaches it.
 *
 * Pure: time is passed in.
 */

export interface Expiring {
  readonly deadline: number
  /** Answered (or expired): nothing more to do for it. */
  readonly settled: boolean
}

export interface DeadlineQueue<T extends Expiring> {
  readonly add: (item: T) => void
  /**
   * Takes off the front every item settled or due by `now`, handing each due one not yet settled
   * to `expired`, in order. Returns the deadline of the first item left, `undefined` when none is.
   */
  readonly expire: (now: number, expired: (item: T) => void) => number | undefined
  /** Items not yet taken off (settled ones behind the first included). */
  readonly size: () => number
}

/** Taken-off slots are reclaimed once this many have piled up at the front. */
const compactAfter = 1_024

export const makeDeadlineQueue = <T extends Expiring>(): DeadlineQueue<T> => {
  let items: Array<T | undefined> = []
  let head = 0
  return {
    add: (item) => {
      items.push(item)
    },
    expire: (now, expired) => {
      while (head < items.length) {
        const item = items[head]
        if (item !== undefined && !item.settled && item.deadline > now) break
        items[head] = undefined
        head++
        if (item !== undefined && !item.settled) expired(item)
      }
      if (head === items.length) {
        items = []
        head = 0
      } else if (head >= compactAfter && head * 2 >= items.length) {
        items = items.slice(head)
        head = 0
      }
      return items[head]?.deadline
    },
    size: () => items.length - head
  }
}
