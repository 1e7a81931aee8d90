/**
 * The trend buffer behind the dashboard's charts: a fixed number of samples, the oldest
 * overwritten, so memory stays the same however long the proxy runs.
 */

export interface Ring<A> {
  readonly capacity: number
  readonly items: Array<A>
  /** Index the next item goes to once the ring is full. */
  next: number
}

export const makeRing = <A>(capacity: number): Ring<A> => ({ capacity, items: [], next: 0 })

export const push = <A>(ring: Ring<A>, item: A): void => {
  if (ring.items.length < ring.capacity) {
    ring.items.push(item)
    return
  }
  ring.items[ring.next] = item
  ring.next = (ring.next + 1) % ring.capacity
}

/** Oldest first. */
export const toArray = <A>(ring: Ring<A>): Array<A> =>
  ring.items.length < ring.capacity
    ? [...ring.items]
    : [...ring.items.slice(ring.next), ...ring.items.slice(0, ring.next)]
