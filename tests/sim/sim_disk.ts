/**
 * A simulated disk for one node: the `quorum-state` file (written with fsync, so it survives
 * crashes) and the metadata log, whose unsynced writes (appends and truncations) a crash loses.
 *
 * @module
 */

import { MemoryRaftLog } from "../../core/raft/memory_log.ts";
import type { LogEntry, OffsetAndEpoch, QuorumStateData } from "../../core/raft/types.ts";

const ALL = { maxCount: Infinity, maxBytes: Infinity };

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
  #synced: LogEntry[] = [];
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
    this.#synced.length = this.#sameUntil;
    for (const entry of this.log.read(this.#sameUntil, ALL)) this.#synced.push(entry);
    this.#sameUntil = this.log.endOffset();
    return { offset: this.log.endOffset(), epoch: this.log.lastEpoch() };
  }

  /** Power loss: unsynced appends and truncations vanish. */
  crash(): void {
    this.log = new MemoryRaftLog({ entries: this.#synced.slice() });
    this.#sameUntil = this.#synced.length;
  }

  /** The durable entry at `offset`, if any. */
  syncedEntry(offset: number): LogEntry | undefined {
    return this.#synced[offset];
  }

  get syncedEndOffset(): number {
    return this.#synced.length;
  }
}
