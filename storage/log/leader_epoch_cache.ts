/**
 * The leader epoch cache (Kafka's `LeaderEpochFileCache`), in memory: which epoch wrote from which
 * offset. Persistence belongs to the log, which writes `leader-epoch-checkpoint` after changes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EpochEntry } from "./checkpoint_file.ts";

/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

/** The answer to OffsetForLeaderEpoch. */
export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

/**
 * Epoch -> start offset, strictly increasing in both.
 *
 * @example
 * ```ts
 * import { LeaderEpochCache } from "./leader_epoch_cache.ts";
 * const cache = new LeaderEpochCache();
 * cache.assign(1, 0);
 * cache.assign(3, 10);
 * cache.endOffsetFor(1, 20); // { epoch: 1, endOffset: 10 }
 * ```
 */
export class LeaderEpochCache {
  #entries: EpochEntry[] = [];

  constructor(entries: readonly EpochEntry[] = []) {
    for (const e of entries) this.assign(e.epoch, e.startOffset);
  }

  /** A copy of the entries, oldest first. */
  entries(): EpochEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** The latest epoch, or null when empty. */
  latestEpoch(): number | null {
    return this.#entries.at(-1)?.epoch ?? null;
  }

  /**
   * Records that `epoch` starts at `startOffset`; returns whether anything changed. Entries with an
   * epoch >= `epoch` or a start offset >= `startOffset` are dropped first, as Kafka does.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const last = this.#entries.at(-1);
    if (last !== undefined && last.epoch === epoch && last.startOffset <= startOffset) return false;
    this.#entries = this.#entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    this.#entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops entries starting at or after `endOffset` (log truncated to `endOffset`). */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.startOffset < endOffset);
    return this.#entries.length !== before;
  }

  /** Log start moved to `startOffset`: the epoch covering it now starts there. */
  truncateFromStart(startOffset: number): boolean {
    let floor = -1;
    for (let i = 0; i < this.#entries.length; i++) {
      if (this.#entries[i]!.startOffset <= startOffset) floor = i;
    }
    if (floor < 0) return false;
    const kept = this.#entries.slice(floor);
    const first = kept[0]!;
    if (floor === 0 && first.startOffset === startOffset) return false;
    kept[0] = { epoch: first.epoch, startOffset };
    this.#entries = kept;
    return true;
  }

  /** Forgets everything. */
  clear(): boolean {
    const changed = this.#entries.length > 0;
    this.#entries = [];
    return changed;
  }

  /**
   * OffsetForLeaderEpoch: the largest epoch <= `requestedEpoch` and the offset where the next
   * epoch starts (or `logEndOffset` for the latest epoch). KIP-101, KIP-279, KIP-595 divergence.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer;
    if (this.latestEpoch() === requestedEpoch) {
      return { epoch: requestedEpoch, endOffset: logEndOffset };
    }
    const higher = this.#entries.find((e) => e.epoch > requestedEpoch);
    if (higher === undefined) return undefinedAnswer;
    const floor = this.#entries.findLast((e) => e.epoch <= requestedEpoch);
    if (floor === undefined) return { epoch: requestedEpoch, endOffset: higher.startOffset };
    return { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  /** The epoch that wrote `offset`, or null when unknown. */
  epochForOffset(offset: number): number | null {
    const floor = this.#entries.findLast((e) => e.startOffset <= offset);
    return floor?.epoch ?? null;
  }

  /** Asserts the strictly increasing invariant. */
  checkInvariants(): void {
    for (let i = 1; i < this.#entries.length; i++) {
      const a = this.#entries[i - 1]!;
      const b = this.#entries[i]!;
      assert(a.epoch < b.epoch && a.startOffset < b.startOffset, "epoch cache not monotonic");
    }
  }
}
