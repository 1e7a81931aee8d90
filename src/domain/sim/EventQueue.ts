/**
 * The lab's agenda: a binary min-heap of future happenings ordered by time, then by the order
 * they were scheduled, so two at the same instant always happen in the same order (the output
 * is byte-identical run to run).
 */

export interface Scheduled<A> {
  readonly at: number
  readonly seq: number
  readonly value: A
}

export interface EventQueue<A> {
  readonly push: (at: number, value: A) => void
  /** The earliest, removed; `undefined` when empty. */
  readonly pop: () => Scheduled<A> | undefined
  /** The earliest time, `Infinity` when empty. */
  readonly nextAt: () => number
  readonly size: () => number
}

const before = <A>(x: Scheduled<A>, y: Scheduled<A>): boolean => x.at < y.at || (x.at === y.at && x.seq < y.seq)

export const makeEventQueue = <A>(): EventQueue<A> => {
  const heap: Array<Scheduled<A>> = []
  let seq = 0

  const push = (at: number, value: A) => {
    const entry = { at, seq: seq++, value }
    let i = heap.length
    heap.push(entry)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = heap[parent]
      if (above === undefined || !before(entry, above)) break
      heap[i] = above
      i = parent
    }
    heap[i] = entry
  }

  const pop = () => {
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    // Sift the last entry down from the root.
    let i = 0
    while (true) {
      let next = -1
      let smallest = last
      const left = heap[2 * i + 1]
      const right = heap[2 * i + 2]
      if (left !== undefined && before(left, smallest)) {
        next = 2 * i + 1
        smallest = left
      }
      if (right !== undefined && before(right, smallest)) {
        next = 2 * i + 2
        smallest = right
      }
      if (next < 0) break
      heap[i] = smallest
      i = next
    }
    heap[i] = last
    return top
  }

  return { push, pop, nextAt: () => heap[0]?.at ?? Number.POSITIVE_INFINITY, size: () => heap.length }
}
