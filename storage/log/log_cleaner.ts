/**
 * Log compaction (Kafka's `LogCleaner`, simplified): keep the latest record per key, keep
 * tombstones for `delete.retention.ms` after the cleaning pass that first sees them, preserve
 * offsets.
 *
 * Two passes over the cleanable (inactive) segments: build an offset map key -> latest offset,
 * bounded by `offsetMapBytesMax` (when full, cleaning stops at that offset and the rest waits for
 * the next run), then rewrite each batch: a batch whose records all survive is copied byte for
 * byte; a batch that lost records is re-encoded with its original base offset, lastOffsetDelta,
 * epoch, producer fields and attributes; a batch that lost every record is dropped. Control
 * batches are kept as they are.
 *
 * Transactions (Kafka's cleaner): the batches of aborted transactions neither enter the offset
 * map nor survive cleaning (an aborted value must not shadow the committed one before it), and
 * the caller stops the dirty range at the last stable offset, so an open transaction is never
 * cleaned against.
 *
 * Tombstones (KIP-534, as Kafka 3.x does it): the first pass that keeps a batch holding a
 * tombstone stamps the batch with a delete horizon, `nowMs + delete.retention.ms`, stored in the
 * batch's base timestamp with the `deleteHorizonSet` attribute bit (0x40); record timestamp deltas
 * are rebased so every record keeps its timestamp. Later passes drop the batch's tombstones only
 * once `nowMs` has reached that horizon, so a consumer that starts reading from the beginning
 * within `delete.retention.ms` of that pass always sees the delete.
 *
 * @module
 */
import {
  ATTRIBUTES_OFFSET,
  computeBatchCrc,
  CRC_OFFSET,
  DELETE_HORIZON_FLAG_MASK,
  hasDeleteHorizon,
  isControl,
} from "../../net/protocol/record_batch.ts";
import {
  decodeBatch,
  encodeBatch,
  type Record as BatchRecord,
} from "../../net/protocol/records.ts";

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
export function addBatchToMap(
  map: OffsetMap,
  batchBytes: Uint8Array,
  isAborted: AbortedBatchTest = NONE_ABORTED,
): boolean {
  const { header, records } = decodeBatch(batchBytes, { skipCrcCheck: true });
  if (isControl(header.attributes)) return true;
  if (abortedBatch(header, isAborted)) return true;
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

/** The clock and tombstone window of one cleaning pass (Kafka's `currentTime`, `deleteRetentionMs`). */
export interface CleanPass {
  nowMs: number;
  deleteRetentionMs: number;
  /** Whether a transactional batch belongs to an aborted transaction (default: none is). */
  isAborted?: AbortedBatchTest;
}

/** Whether the transactional batch of `producerId` at `baseOffset` belongs to an aborted transaction. */
export type AbortedBatchTest = (producerId: number, baseOffset: number) => boolean;

const NONE_ABORTED: AbortedBatchTest = () => false;

function abortedBatch(
  header: { attributes: number; producerId: number; baseOffset: number },
  isAborted: AbortedBatchTest,
): boolean {
  return (header.attributes & 0x10) !== 0 && isAborted(header.producerId, header.baseOffset);
}

/**
 * The test for the batches of aborted transactions, from the aborted-transaction index: a
 * transactional batch of producer P at offset O is aborted when an entry of P spans
 * [firstOffset, lastOffset] around O.
 *
 * @example
 * ```ts
 * import { abortedBatchTest } from "./log_cleaner.ts";
 * const test = abortedBatchTest([{ producerId: 7, firstOffset: 10, lastOffset: 20 }]);
 * test(7, 15); // true
 * test(8, 15); // false
 * ```
 */
export function abortedBatchTest(
  aborted: readonly { producerId: number; firstOffset: number; lastOffset: number }[],
): AbortedBatchTest {
  if (aborted.length === 0) return NONE_ABORTED;
  const byProducer = new Map<number, { firstOffset: number; lastOffset: number }[]>();
  for (const a of aborted) {
    const ranges = byProducer.get(a.producerId) ?? [];
    ranges.push(a);
    byProducer.set(a.producerId, ranges);
  }
  return (producerId, baseOffset) =>
    byProducer.get(producerId)?.some((r) =>
      r.firstOffset <= baseOffset && baseOffset < r.lastOffset
    ) ??
      false;
}

/**
 * The delete horizon stamped on a batch (KIP-534): its base timestamp when the
 * `deleteHorizonSet` attribute bit is on, else null.
 *
 * @example
 * ```ts
 * import { deleteHorizonMs } from "./log_cleaner.ts";
 * deleteHorizonMs({ attributes: 0x40, baseTimestamp: 5_000 }); // 5000
 * deleteHorizonMs({ attributes: 0, baseTimestamp: 5_000 }); // null
 * ```
 */
export function deleteHorizonMs(header: { attributes: number; baseTimestamp: number }) {
  return hasDeleteHorizon(header.attributes) ? header.baseTimestamp : null;
}

/**
 * The delete horizon of a stored batch's bytes (see {@link deleteHorizonMs}), read from its header
 * without decoding the records.
 *
 * @example
 * ```ts
 * import { deleteHorizonOf } from "./log_cleaner.ts";
 * // deleteHorizonOf(storedBatchBytes); // null, or the horizon in ms
 * ```
 */
export function deleteHorizonOf(batchBytes: Uint8Array): number | null {
  const view = new DataView(batchBytes.buffer, batchBytes.byteOffset, batchBytes.byteLength);
  const attributes = view.getInt16(ATTRIBUTES_OFFSET);
  if (!hasDeleteHorizon(attributes)) return null;
  return Number(view.getBigInt64(BASE_TIMESTAMP_OFFSET));
}

/** Where a v2 batch header holds its base timestamp. */
const BASE_TIMESTAMP_OFFSET = 27;

/**
 * Cleans one stored batch against the offset map built for offsets below `mapEndOffset`: older
 * values of a key go, tombstones go once the batch's delete horizon has passed, and a kept batch
 * with a tombstone but no horizon yet gets one (`pass.nowMs + pass.deleteRetentionMs`).
 *
 * @example
 * ```ts
 * import { cleanBatch, OffsetMap } from "./log_cleaner.ts";
 * // const result = cleanBatch(batchBytes, map, 100, { nowMs: Date.now(), deleteRetentionMs: 86_400_000 });
 * ```
 */
export function cleanBatch(
  batchBytes: Uint8Array,
  map: OffsetMap,
  mapEndOffset: number,
  pass: CleanPass,
): CleanedBatch {
  const { header, records } = decodeBatch(batchBytes, { skipCrcCheck: true });
  if (isControl(header.attributes)) return { kind: "kept", bytes: batchBytes };
  if (abortedBatch(header, pass.isAborted ?? NONE_ABORTED)) {
    return { kind: "dropped", removed: records.length };
  }
  const horizonMs = deleteHorizonMs(header);
  const retainDeletes = horizonMs === null || pass.nowMs < horizonMs;
  const kept = records.filter((record) => {
    const offset = header.baseOffset + record.offsetDelta;
    if (offset >= mapEndOffset || record.key === null) return true;
    const latest = map.get(OffsetMap.keyOf(record.key));
    if (latest !== undefined && latest > offset) return false;
    return record.value !== null || retainDeletes;
  });
  const removed = records.length - kept.length;
  const needsHorizon = horizonMs === null && kept.some((record) => record.value === null);
  if (removed === 0 && !needsHorizon) return { kind: "kept", bytes: batchBytes };
  if (kept.length === 0) return { kind: "dropped", removed };
  const newHorizonMs = needsHorizon ? pass.nowMs + pass.deleteRetentionMs : horizonMs;
  const bytes = reencode(header, kept, newHorizonMs);
  return { kind: "rewritten", bytes, removed };
}

type Header = ReturnType<typeof decodeBatch>["header"];

/**
 * Encodes the kept records with the batch's own fields. With a delete horizon the base
 * timestamp becomes the horizon and each record's delta is rebased, as Kafka's
 * MemoryRecordsBuilder does, so record timestamps are unchanged.
 */
function reencode(header: Header, kept: BatchRecord[], horizonMs: number | null): Uint8Array {
  const attributes = header.attributes;
  const baseTimestamp = horizonMs ?? header.baseTimestamp;
  const shiftMs = header.baseTimestamp - baseTimestamp;
  const bytes = encodeBatch({
    baseOffset: header.baseOffset,
    records: shiftMs === 0
      ? kept
      : kept.map((r) => ({ ...r, timestampDelta: r.timestampDelta + shiftMs })),
    compression: attributes & 0x07,
    baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    timestampType: (attributes & 0x08) !== 0 ? 1 : 0,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    transactional: (attributes & 0x10) !== 0,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    lastOffsetDelta: header.lastOffsetDelta,
  });
  if (horizonMs === null) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setInt16(ATTRIBUTES_OFFSET, view.getInt16(ATTRIBUTES_OFFSET) | DELETE_HORIZON_FLAG_MASK);
  view.setUint32(CRC_OFFSET, computeBatchCrc(bytes, 0));
  return bytes;
}
