/**
 * An in-memory {@link GroupLogStore}: `__consumer_offsets` partitions as lists of v2 batches,
 * with leadership switched by hand. For tests and the simulator; it survives a GroupManager
 * restart when the same instance is handed to the new manager.
 *
 * @module
 */

import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { readBatchHeader, setBaseOffset } from "../net/protocol/record_batch.ts";
import type { GroupLogStore } from "./group_manager.ts";

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Uint8Array;
}

/**
 * A `__consumer_offsets` store held in memory.
 *
 * @example
 * ```ts
 * import { MemoryGroupLogStore } from "./group_memory_log_store.ts";
 * const store = new MemoryGroupLogStore();
 * store.setLeader(0, true);
 * ```
 */
export class MemoryGroupLogStore implements GroupLogStore {
  readonly #logs = new Map<number, StoredBatch[]>();
  readonly #leaders = new Set<number>();
  readonly #listeners: ((partition: number, isLeader: boolean) => void)[] = [];
  /** Appends wait for this before they settle (tests hold appends with it). */
  appendGate: (() => Promise<void>) | null = null;
  /** Number of appends made, successful or not. */
  appendCount = 0;

  /** Makes this broker leader (or not) of `partition` and tells the listeners. */
  setLeader(partition: number, isLeader: boolean): void {
    if (isLeader === this.#leaders.has(partition)) return;
    if (isLeader) this.#leaders.add(partition);
    else this.#leaders.delete(partition);
    for (const listener of this.#listeners) listener(partition, isLeader);
  }

  ledPartitions(): Iterable<number> {
    return [...this.#leaders];
  }

  onLeaderChange(listener: (partition: number, isLeader: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** The offset the next batch of `partition` gets (its high watermark). */
  endOffset(partition: number): number {
    return (this.#logs.get(partition)?.at(-1)?.lastOffset ?? -1) + 1;
  }

  async append(partition: number, batch: Uint8Array): Promise<void> {
    this.appendCount++;
    if (this.appendGate !== null) await this.appendGate();
    if (!this.#leaders.has(partition)) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `This broker does not lead __consumer_offsets-${partition}`,
      );
    }
    const bytes = batch.slice();
    const baseOffset = this.endOffset(partition);
    setBaseOffset(bytes, 0, baseOffset);
    const lastOffset = baseOffset + readBatchHeader(bytes, 0).lastOffsetDelta;
    const log = this.#logs.get(partition) ?? [];
    log.push({ baseOffset, lastOffset, bytes });
    this.#logs.set(partition, log);
  }

  read(
    partition: number,
    fromOffset: number,
    maxBytes: number,
  ): Promise<{ records: Uint8Array; highWatermark: number }> {
    const chosen: Uint8Array[] = [];
    let sizeBytes = 0;
    for (const batch of this.#logs.get(partition) ?? []) {
      if (batch.lastOffset < fromOffset) continue;
      if (chosen.length > 0 && sizeBytes + batch.bytes.length > maxBytes) break;
      chosen.push(batch.bytes);
      sizeBytes += batch.bytes.length;
    }
    const records = new Uint8Array(sizeBytes);
    let at = 0;
    for (const bytes of chosen) {
      records.set(bytes, at);
      at += bytes.length;
    }
    return Promise.resolve({ records, highWatermark: this.endOffset(partition) });
  }
}
