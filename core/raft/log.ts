/**
 * The read-only view of `__cluster_metadata-0` the raft core consults, and `LogState`, the core's
 * overlay of writes it has decided on but storage has not yet taken (etcd's "unstable" log).
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { entrySizeBytes, type LogEntry, type OffsetAndEpoch } from "./types.ts";

/** Bounds on one read of the log. A read returns at least one entry when any is available. */
export interface ReadLimits {
  maxCount: number;
  maxBytes: number;
}

/**
 * What the raft core reads from storage. Storage implements it over the real log (segments,
 * `.checkpoint` snapshots); `MemoryRaftLog` implements it in memory for tests and the simulator.
 * Reads never fail for offsets in [startOffset, endOffset); anything else is a broken invariant.
 */
export interface RaftLogView {
  /** Offset of the first entry kept (the latest snapshot's end offset, or 0). */
  startOffset(): number;
  /** Offset one past the last entry. */
  endOffset(): number;
  /** Epoch of the last entry, else of the latest snapshot, else 0. */
  lastEpoch(): number;
  /**
   * The largest epoch `<= epoch` in the log and the offset one past its last entry (Kafka's
   * `endOffsetForEpoch`). With no such epoch: the snapshot id, or `{ offset: startOffset, epoch: 0 }`.
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch;
  /** Entries from `fromOffset`, in order, within `limits`. */
  read(fromOffset: number, limits: ReadLimits): LogEntry[];
  /** The id (end offset and epoch) of the latest snapshot, or null. */
  latestSnapshotId(): OffsetAndEpoch | null;
}

/** The writes a `Ready` hands to storage: truncate first, then append. */
export interface PendingWrites {
  truncateTo: number | null;
  entries: LogEntry[];
}

/**
 * The core's view of the log: storage's view plus writes not yet acknowledged through
 * `advance()`. Entries below `stableEnd` come from storage; entries from `stableEnd` on are held
 * here. A pending truncation hides storage's entries at and above it.
 *
 * @example
 * ```ts
 * import { LogState } from "./log.ts";
 * import { MemoryRaftLog } from "./memory_log.ts";
 * const log = new LogState(new MemoryRaftLog());
 * log.append([{ offset: 0, epoch: 1, payload: new Uint8Array() }]);
 * log.endOffset(); // 1
 * ```
 */
export class LogState {
  readonly #view: RaftLogView;
  #stableEnd: number;
  #unstable: LogEntry[] = [];
  #truncateTo: number | null = null;

  constructor(view: RaftLogView) {
    this.#view = view;
    this.#stableEnd = view.endOffset();
  }

  get view(): RaftLogView {
    return this.#view;
  }

  startOffset(): number {
    return this.#view.startOffset();
  }

  endOffset(): number {
    return this.#stableEnd + this.#unstable.length;
  }

  lastEpoch(): number {
    const last = this.#unstable.at(-1);
    if (last) return last.epoch;
    return this.epochBefore(this.#stableEnd);
  }

  /** The epoch of the entry at `offset - 1` (the snapshot's epoch at the log start, 0 at 0). */
  epochBefore(offset: number): number {
    assert(offset <= this.endOffset(), `Cannot read epoch before ${offset}: log ends earlier`);
    if (offset > this.#stableEnd) {
      const entry = this.#unstable[offset - 1 - this.#stableEnd];
      assert(entry);
      return entry.epoch;
    }
    if (this.#truncateTo === null && offset === this.#view.endOffset()) {
      return this.#view.lastEpoch();
    }
    const start = this.#view.startOffset();
    if (offset > start) {
      const entry = this.#view.read(offset - 1, { maxCount: 1, maxBytes: 1 })[0];
      assert(entry && entry.offset === offset - 1, `Cannot read entry ${offset - 1}`);
      return entry.epoch;
    }
    return this.#view.latestSnapshotId()?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    const first = this.#unstable[0];
    if (first && first.epoch <= epoch) {
      let i = this.#unstable.length - 1;
      while (this.#unstable[i]!.epoch > epoch) i--;
      const entry = this.#unstable[i]!;
      return { offset: entry.offset + 1, epoch: entry.epoch };
    }
    const fromView = this.#view.endOffsetForEpoch(epoch);
    if (fromView.offset <= this.#stableEnd) return fromView;
    return { offset: this.#stableEnd, epoch: this.epochBefore(this.#stableEnd) };
  }

  read(fromOffset: number, limits: ReadLimits): LogEntry[] {
    assert(fromOffset >= this.startOffset(), `Cannot read from ${fromOffset}: before log start`);
    if (fromOffset < this.#stableEnd) {
      const entries = this.#view.read(fromOffset, limits);
      const keep = entries.findIndex((e) => e.offset >= this.#stableEnd);
      return keep < 0 ? entries : entries.slice(0, keep);
    }
    const out: LogEntry[] = [];
    let sizeBytes = 0;
    for (let i = fromOffset - this.#stableEnd; i < this.#unstable.length; i++) {
      const entry = this.#unstable[i]!;
      sizeBytes += entrySizeBytes(entry);
      if (out.length > 0 && (out.length >= limits.maxCount || sizeBytes > limits.maxBytes)) break;
      out.push(entry);
    }
    return out;
  }

  append(entries: readonly LogEntry[]): void {
    let lastEpoch = this.lastEpoch();
    for (const entry of entries) {
      assert(
        entry.offset === this.endOffset(),
        `Cannot append offset ${entry.offset}: not contiguous`,
      );
      assert(entry.epoch >= lastEpoch, `Cannot append epoch ${entry.epoch} after ${lastEpoch}`);
      lastEpoch = entry.epoch;
      this.#unstable.push(entry);
    }
  }

  truncateTo(offset: number): void {
    assert(offset <= this.endOffset(), `Cannot truncate to ${offset}: log ends earlier`);
    assert(offset >= this.startOffset(), `Cannot truncate to ${offset}: before log start`);
    if (offset >= this.#stableEnd) {
      this.#unstable.length = offset - this.#stableEnd;
      return;
    }
    this.#truncateTo = Math.min(this.#truncateTo ?? offset, offset);
    this.#stableEnd = offset;
    this.#unstable = [];
  }

  hasPending(): boolean {
    return this.#truncateTo !== null || this.#unstable.length > 0;
  }

  /** The writes storage has not taken yet; they stay readable here until `acknowledge()`. */
  pending(): PendingWrites {
    return { truncateTo: this.#truncateTo, entries: [...this.#unstable] };
  }

  /**
   * Storage replaced its log (a snapshot was installed): forget the old positions and read the
   * view afresh. Only valid with no pending writes.
   */
  reset(): void {
    assert(!this.hasPending(), "Cannot reset the log state with writes pending");
    this.#stableEnd = this.#view.endOffset();
  }

  /** Storage has applied `pending()`: its view now holds every entry. */
  acknowledge(): void {
    const endOffset = this.endOffset();
    assert(
      this.#view.endOffset() === endOffset,
      `Storage log ends at ${this.#view.endOffset()} after advance, expected ${endOffset}`,
    );
    this.#stableEnd = endOffset;
    this.#unstable = [];
    this.#truncateTo = null;
  }
}
