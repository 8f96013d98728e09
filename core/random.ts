/**
 * A small seeded pseudo-random generator (mulberry32). `core/` never calls `Math.random()`:
 * production seeds it from the OS, the simulator from the test seed, so a failing seed replays exactly.
 *
 * @example
 * ```ts
 * import { SeededRandom } from "./random.ts";
 * const random = new SeededRandom(42);
 * const jitterMs = random.intBelow(1000);
 * ```
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  intBelow(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}

/** The interface `core/` state machines take, so tests can inject any source. */
export interface Random {
  next(): number;
  intBelow(bound: number): number;
}
