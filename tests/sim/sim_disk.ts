/**
 * A simulated disk for one node: the `quorum-state` file (written with fsync, so it survives
 * crashes), the latest snapshot (written to a temp file, fsynced and renamed, so it survives
 * crashes whole) and the metadata log, whose unsynced writes (appends and truncations) a crash
 * loses. The log starts at the snapshot's end offset, as storage keeps it after compaction.
 *
 * @module
 */

import { MemoryRaftLog } from "../../core/raft/memory_log.ts";
import type { LogEntry, OffsetAndEpoch, QuorumStateData, Voter } from "../../core/raft/types.ts";

const ALL = { maxCount: Infinity, maxBytes: Infinity };

/** A snapshot: its id and the applied history it stands for, as entry keys by offset. */
export interface SimSnapshot {
  id: OffsetAndEpoch;
  keys: readonly string[];
  /** KIP-853: the committed voter set as of the snapshot (dynamic quorums only). */
  voters?: readonly Voter[];
}

/** The epoch in an entry key (`<epoch>/<body>`). */
export function epochOfKey(key: string): number {
  return Number(key.slice(0, key.indexOf("/")));
}

/**
 * Disk state that outlives a node's crash.
 *
 * @example
 * ```ts
 * import { SimDisk } from "./sim_disk.ts";
 * const disk = new SimDisk();
 * disk.append([{ offset: 0, epoch: 1, payload: new Uint8Array() }]);
 * disk.crash();
 * disk.log.endOffset(); // 0: the append was never synced
 * ```
 */
export class SimDisk {
  log = new MemoryRaftLog();
  quorumState: QuorumStateData | undefined;
  /** The latest snapshot; durable as soon as it is set. */
  snapshot: SimSnapshot | null = null;
  /** Durable entries, the first at `#syncedStart` (the snapshot's end offset, or 0). */
  #synced: LogEntry[] = [];
  #syncedStart = 0;
  /** Entries of `log` below this offset are known to equal `#synced`. */
  #sameUntil = 0;

  append(entries: readonly LogEntry[]): void {
    this.log.append(entries);
  }

  truncate(offset: number): void {
    this.log.truncateTo(offset);
    this.#sameUntil = Math.min(this.#sameUntil, offset);
  }

  /** fsync: the current log becomes durable. Returns what `onFlushed` should report. */
  flush(): OffsetAndEpoch {
    this.#synced.length = this.#sameUntil - this.#syncedStart;
    for (const entry of this.log.read(this.#sameUntil, ALL)) this.#synced.push(entry);
    this.#sameUntil = this.log.endOffset();
    return { offset: this.log.endOffset(), epoch: this.log.lastEpoch() };
  }

  /** Writes a snapshot of applied state and drops the log before it (retention of zero). */
  compact(snapshot: SimSnapshot): void {
    const start = snapshot.id.offset;
    this.snapshot = snapshot;
    this.log.compactTo(snapshot.id);
    if (this.#sameUntil >= start) {
      this.#synced = this.#synced.slice(start - this.#syncedStart);
    } else {
      // The synced tail differs from the log there: model the truncation as synced too.
      this.#synced = [];
      this.#sameUntil = start;
    }
    this.#syncedStart = start;
  }

  /** Installs a snapshot fetched from the leader: the log is replaced, durably. */
  installSnapshot(snapshot: SimSnapshot): void {
    this.snapshot = snapshot;
    this.log.installSnapshot(snapshot.id);
    this.#synced = [];
    this.#syncedStart = snapshot.id.offset;
    this.#sameUntil = snapshot.id.offset;
  }

  /** Power loss: unsynced appends and truncations vanish. */
  crash(): void {
    this.log = new MemoryRaftLog({
      entries: this.#synced.slice(),
      snapshotId: this.snapshot?.id ?? null,
    });
    this.#sameUntil = this.#syncedStart + this.#synced.length;
  }

  /** The epoch of the durable entry at `offset` (from the log or the snapshot), if any. */
  syncedEpochAt(offset: number): number | undefined {
    if (offset >= this.#syncedStart) return this.#synced[offset - this.#syncedStart]?.epoch;
    const key = this.snapshot?.keys[offset];
    return key === undefined ? undefined : epochOfKey(key);
  }

  /** The key of the entry at `offset` in the current log or, before its start, the snapshot. */
  keyAt(offset: number, entryKey: (entry: LogEntry) => string): string | undefined {
    if (offset < this.log.startOffset()) return this.snapshot?.keys[offset];
    const entry = this.log.read(offset, { maxCount: 1, maxBytes: Infinity })[0];
    return entry && entry.offset === offset ? entryKey(entry) : undefined;
  }

  get syncedEndOffset(): number {
    return this.#syncedStart + this.#synced.length;
  }
}
