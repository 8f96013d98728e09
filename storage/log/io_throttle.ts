/**
 * Kafka's `Throttler` for the log cleaner (`log.cleaner.io.max.bytes.per.second`): the bytes a
 * cleaning reads and writes are counted, and every check interval (300 ms) a run that went faster
 * than the bound sleeps long enough to bring the interval back to it. The clock and the sleep are
 * injected, so tests drive it without waiting.
 *
 * @module
 */

/** What the throttle needs from the outside world. */
export interface ThrottleClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: ThrottleClock = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Kafka's cleaner checks its rate this often. */
const CHECK_INTERVAL_MS = 300;

/**
 * Bounds a stream of I/O to `bytesPerSecond` (Infinity or Double.MAX_VALUE: no bound).
 *
 * @example
 * ```ts
 * import { IoThrottle } from "./io_throttle.ts";
 * let now = 0;
 * const slept: number[] = [];
 * const throttle = new IoThrottle(1000, {
 *   nowMs: () => now,
 *   sleep: (ms) => { slept.push(ms); now += ms; return Promise.resolve(); },
 * });
 * now = 400;
 * await throttle.observe(1000); // 1000 bytes in 400 ms: 600 ms more make it 1000 bytes/s
 * slept; // [600]
 * ```
 */
export class IoThrottle {
  readonly bytesPerSecond: number;
  readonly #clock: ThrottleClock;
  #periodStartMs: number;
  #observed = 0;

  constructor(bytesPerSecond: number, clock: ThrottleClock = REAL_CLOCK) {
    this.bytesPerSecond = bytesPerSecond;
    this.#clock = clock;
    this.#periodStartMs = clock.nowMs();
  }

  /** Counts `bytes`; after a check interval that ran too fast, sleeps off the excess. */
  async observe(bytes: number): Promise<void> {
    if (!(this.bytesPerSecond > 0 && this.bytesPerSecond < Number.MAX_VALUE)) return;
    this.#observed += bytes;
    const elapsedMs = this.#clock.nowMs() - this.#periodStartMs;
    if (elapsedMs <= CHECK_INTERVAL_MS || this.#observed <= 0) return;
    const sleepMs = Math.round(this.#observed / (this.bytesPerSecond / 1000) - elapsedMs);
    if (sleepMs > 0) await this.#clock.sleep(sleepMs);
    this.#periodStartMs = this.#clock.nowMs();
    this.#observed = 0;
  }
}
