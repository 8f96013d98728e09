/**
 * A min-heap of timed events for the simulator: earliest time first, ties in insertion order,
 * so a seed replays the same sequence exactly.
 *
 * @module
 */

interface Slot<T> {
  atMs: number;
  seq: number;
  event: T;
}

/**
 * A deterministic priority queue of events.
 *
 * @example
 * ```ts
 * import { EventQueue } from "./event_queue.ts";
 * const queue = new EventQueue<string>();
 * queue.push(10, "later");
 * queue.push(5, "sooner");
 * queue.pop()?.event; // "sooner"
 * ```
 */
export class EventQueue<T> {
  #heap: Slot<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(atMs: number, event: T): void {
    const heap = this.#heap;
    heap.push({ atMs, seq: this.#seq++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): { atMs: number; event: T } | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < heap.length && this.#less(heap[left]!, heap[best]!)) best = left;
        if (right < heap.length && this.#less(heap[right]!, heap[best]!)) best = right;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best]!, heap[i]!];
        i = best;
      }
    }
    return { atMs: top.atMs, event: top.event };
  }

  #less(a: Slot<T>, b: Slot<T>): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }
}
