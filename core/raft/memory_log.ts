/**
 * An in-memory `RaftLogView` with the writes storage performs (append, truncate, snapshot),
 * for unit tests and the simulator.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type { RaftLogView, ReadLimits } from "./log.ts";
import { entrySizeBytes, type LogEntry, type OffsetAndEpoch } from "./types.ts";

/**
 * An in-memory metadata log.
 *
 * @example
 * ```ts
 * import { MemoryRaftLog } from "./memory_log.ts";
 * const log = new MemoryRaftLog();
 * log.append([{ offset: 0, epoch: 1, payload: new Uint8Array([1]) }]);
 * log.endOffsetForEpoch(1); // { offset: 1, epoch: 1 }
 * ```
 */
export class MemoryRaftLog implements RaftLogView {
  #entries: LogEntry[];
  #snapshotId: OffsetAndEpoch | null;

  constructor(init: { entries?: LogEntry[]; snapshotId?: OffsetAndEpoch | null } = {}) {
    this.#snapshotId = init.snapshotId ?? null;
    this.#entries = [];
    this.append(init.entries ?? []);
  }

  startOffset(): number {
    return this.#snapshotId?.offset ?? 0;
  }

  endOffset(): number {
    return this.startOffset() + this.#entries.length;
  }

  lastEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? this.#snapshotId?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    let low = 0;
    let high = this.#entries.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (this.#entries[mid]!.epoch <= epoch) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found >= 0) {
      const entry = this.#entries[found]!;
      return { offset: entry.offset + 1, epoch: entry.epoch };
    }
    const snapshot = this.#snapshotId;
    if (snapshot && snapshot.epoch <= epoch) return { ...snapshot };
    return { offset: this.startOffset(), epoch: 0 };
  }

  read(fromOffset: number, limits: ReadLimits): LogEntry[] {
    const out: LogEntry[] = [];
    let sizeBytes = 0;
    for (let i = fromOffset - this.startOffset(); i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      sizeBytes += entrySizeBytes(entry);
      if (out.length > 0 && (out.length >= limits.maxCount || sizeBytes > limits.maxBytes)) break;
      out.push(entry);
    }
    return out;
  }

  latestSnapshotId(): OffsetAndEpoch | null {
    return this.#snapshotId ? { ...this.#snapshotId } : null;
  }

  append(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      assert(
        entry.offset === this.endOffset(),
        `Cannot append offset ${entry.offset}: not contiguous`,
      );
      assert(entry.epoch >= this.lastEpoch(), `Cannot append epoch ${entry.epoch}: below last`);
      this.#entries.push(entry);
    }
  }

  truncateTo(offset: number): void {
    assert(offset >= this.startOffset(), `Cannot truncate to ${offset}: before log start`);
    if (offset < this.endOffset()) this.#entries.length = offset - this.startOffset();
  }

  /** Drops entries before `snapshotId.offset`, as storage does after writing a snapshot. */
  compactTo(snapshotId: OffsetAndEpoch): void {
    assert(snapshotId.offset <= this.endOffset(), `Cannot snapshot past the log end`);
    const drop = snapshotId.offset - this.startOffset();
    assert(drop >= 0, `Cannot snapshot before the log start`);
    this.#entries = this.#entries.slice(drop);
    this.#snapshotId = { ...snapshotId };
  }

  /**
   * Replaces the whole log with a snapshot fetched from the leader (KIP-630): every entry goes and
   * the log starts, empty, at the snapshot's end offset (Kafka's `truncateFullyAndStartAt`).
   */
  installSnapshot(snapshotId: OffsetAndEpoch): void {
    this.#entries = [];
    this.#snapshotId = { ...snapshotId };
  }

  /** A copy of every entry (tests and the simulator). */
  entries(): LogEntry[] {
    return [...this.#entries];
  }
}
