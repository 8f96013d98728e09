/**
 * One INFO line per burst of `__consumer_offsets` loads or unloads instead of one per partition: a
 * broker becoming leader of 50 partitions at start-up logged 100 lines saying little. Leadership
 * arrives partition by partition as their logs open, so a burst ends when it pauses.
 *
 * @module
 */

import type { Logger } from "../core/log.ts";

/** One partition's finished load. */
export interface PartitionLoad {
  partition: number;
  groups: number;
  records: number;
  elapsedMs: number;
}

/**
 * Partition numbers as compact ranges: `0-4,7,9-10`.
 *
 * @example
 * ```ts
 * import { partitionRanges } from "./group_load_log.ts";
 * partitionRanges([4, 0, 1, 2, 3, 7, 9, 10]); // "0-4,7,9-10"
 * ```
 */
export function partitionRanges(partitions: readonly number[]): string {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(",");
}

/** How long a burst may pause before it is logged, in milliseconds. */
export const BURST_QUIET_MS = 250;

/**
 * Collects loads and unloads of one topic's partitions and logs each burst in one line: once
 * {@link BURST_QUIET_MS} pass without another, or at {@link GroupLoadLog.flush}.
 *
 * @example
 * ```ts
 * import { GroupLoadLog } from "./group_load_log.ts";
 * const log = new GroupLoadLog({ debug() {}, info: console.log, warn() {}, error() {} }, "__consumer_offsets");
 * log.loaded({ partition: 0, groups: 2, records: 10, elapsedMs: 3 });
 * log.loaded({ partition: 1, groups: 0, records: 0, elapsedMs: 1 });
 * log.flush();
 * // Loaded 2 groups from 10 records of 2 __consumer_offsets partitions (0-1), the slowest in 3 ms
 * ```
 */
export class GroupLoadLog {
  readonly #logger: Logger;
  readonly #topic: string;
  readonly #quietMs: number;
  #loads: PartitionLoad[] = [];
  #unloads: number[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: Logger, topic: string, options: { quietMs?: number } = {}) {
    this.#logger = logger;
    this.#topic = topic;
    this.#quietMs = options.quietMs ?? BURST_QUIET_MS;
  }

  /** Records a finished load, logged with the rest of its burst. */
  loaded(load: PartitionLoad): void {
    this.#loads.push(load);
    this.#rearm();
  }

  /** Records an unload, logged with the rest of its burst. */
  unloaded(partition: number): void {
    this.#unloads.push(partition);
    this.#rearm();
  }

  /** Logs whatever is collected now (on close, so nothing is lost) and stops the timer. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const loads = this.#loads;
    const unloads = this.#unloads;
    this.#loads = [];
    this.#unloads = [];
    if (loads.length > 0) {
      const sum = (f: (l: PartitionLoad) => number) => loads.reduce((n, l) => n + f(l), 0);
      this.#logger.info(
        `Loaded ${sum((l) => l.groups)} groups from ${sum((l) => l.records)} records of ` +
          `${loads.length} ${this.#topic} partitions (${
            partitionRanges(loads.map((l) => l.partition))
          }), the slowest in ${Math.max(...loads.map((l) => l.elapsedMs))} ms`,
      );
    }
    if (unloads.length > 0) {
      this.#logger.info(
        `Unloaded the groups of ${unloads.length} ${this.#topic} partitions (${
          partitionRanges(unloads)
        })`,
      );
    }
  }

  #rearm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), this.#quietMs);
  }
}
