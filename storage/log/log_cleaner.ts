/**
 * Log compaction (Kafka's `LogCleaner`, simplified): keep the latest record per key, drop
 * tombstones older than `delete.retention.ms`, preserve offsets.
 *
 * Two passes over the cleanable (inactive) segments: build an offset map key -> latest offset,
 * bounded by `offsetMapBytesMax` (when full, cleaning stops at that offset and the rest waits for
 * the next run), then rewrite each batch: a batch whose records all survive is copied byte for
 * byte; a batch that lost records is re-encoded with its original base offset, lastOffsetDelta,
 * epoch, producer fields and attributes; a batch that lost every record is dropped. Control
 * batches are kept as they are.
 *
 * Tombstone horizon (simplification of KIP-534): a tombstone is dropped once the segment holding it
 * has a largest timestamp older than `nowMs - delete.retention.ms`.
 *
 * @module
 */
import { isControl } from "../../net/protocol/record_batch.ts";
import { decodeBatch, encodeBatch } from "../../net/protocol/records.ts";

/** Key bytes -> latest offset, with an approximate memory bound. */
export class OffsetMap {
  readonly bytesMax: number;
  #map = new Map<string, number>();
  #bytes = 0;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }

  static keyOf(key: Uint8Array): string {
    return latin1.decode(key);
  }

  /** Records `offset` for `key`; false when the map is full and the key is new. */
  put(key: string, offset: number): boolean {
    if (!this.#map.has(key)) {
      const cost = key.length * 2 + ENTRY_OVERHEAD_BYTES;
      if (this.#bytes + cost > this.bytesMax) return false;
      this.#bytes += cost;
    }
    this.#map.set(key, offset);
    return true;
  }

  get(key: string): number | undefined {
    return this.#map.get(key);
  }

  get size(): number {
    return this.#map.size;
  }
}

const latin1 = new TextDecoder("latin1");
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Adds the keyed records of one stored batch to `map`. Returns false when the map filled up
 * before the batch was fully added (the caller must stop its dirty range before this batch).
 *
 * @example
 * ```ts
 * import { OffsetMap, addBatchToMap } from "./log_cleaner.ts";
 * const map = new OffsetMap(1 << 20);
 * // addBatchToMap(map, storedBatchBytes);
 * ```
 */
export function addBatchToMap(map: OffsetMap, batchBytes: Uint8Array): boolean {
  const { header, records } = decodeBatch(batchBytes, { skipCrcCheck: true });
  if (isControl(header.attributes)) return true;
  for (const record of records) {
    if (record.key === null) continue;
    if (!map.put(OffsetMap.keyOf(record.key), header.baseOffset + record.offsetDelta)) {
      return false;
    }
  }
  return true;
}

/** What cleaning did to one batch. */
export type CleanedBatch =
  | { kind: "kept"; bytes: Uint8Array }
  | { kind: "rewritten"; bytes: Uint8Array; removed: number }
  | { kind: "dropped"; removed: number };

/**
 * Cleans one stored batch against the offset map built for offsets below `mapEndOffset`.
 *
 * @example
 * ```ts
 * import { cleanBatch, OffsetMap } from "./log_cleaner.ts";
 * // const result = cleanBatch(batchBytes, map, 100, { dropTombstones: true });
 * ```
 */
export function cleanBatch(
  batchBytes: Uint8Array,
  map: OffsetMap,
  mapEndOffset: number,
  options: { dropTombstones: boolean },
): CleanedBatch {
  const { header, records } = decodeBatch(batchBytes, { skipCrcCheck: true });
  if (isControl(header.attributes)) return { kind: "kept", bytes: batchBytes };
  const kept = records.filter((record) => {
    const offset = header.baseOffset + record.offsetDelta;
    if (offset >= mapEndOffset || record.key === null) return true;
    const latest = map.get(OffsetMap.keyOf(record.key));
    if (latest !== undefined && latest > offset) return false;
    return !(record.value === null && options.dropTombstones);
  });
  const removed = records.length - kept.length;
  if (removed === 0) return { kind: "kept", bytes: batchBytes };
  if (kept.length === 0) return { kind: "dropped", removed };
  const attributes = header.attributes;
  const bytes = encodeBatch({
    baseOffset: header.baseOffset,
    records: kept,
    compression: attributes & 0x07,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    timestampType: (attributes & 0x08) !== 0 ? 1 : 0,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    transactional: (attributes & 0x10) !== 0,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    lastOffsetDelta: header.lastOffsetDelta,
  });
  return { kind: "rewritten", bytes, removed };
}
