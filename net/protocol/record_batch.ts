/**
 * Header-level helpers for Kafka record batches (magic v2) that never decode records.
 *
 * Layout (DefaultRecordBatch, all big-endian):
 *
 * | offset | field                | type  |
 * | -----: | -------------------- | ----- |
 * |      0 | baseOffset           | int64 |
 * |      8 | batchLength          | int32 |
 * |     12 | partitionLeaderEpoch | int32 |
 * |     16 | magic                | int8  |
 * |     17 | crc                  | uint32 (CRC32C of bytes 21..end) |
 * |     21 | attributes           | int16 |
 * |     23 | lastOffsetDelta      | int32 |
 * |     27 | baseTimestamp        | int64 |
 * |     35 | maxTimestamp         | int64 |
 * |     43 | producerId           | int64 |
 * |     51 | producerEpoch        | int16 |
 * |     53 | baseSequence         | int32 |
 * |     57 | recordCount          | int32 |
 * |     61 | records...           |       |
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { KafkaError } from "./errors.ts";

/** Bytes before the batch body: baseOffset (int64) + batchLength (int32). */
export const LOG_OVERHEAD_BYTES = 12;
/** Bytes of a v2 batch header, through the records count. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes up to and including the magic byte; enough to tell the format of a batch. */
export const HEADER_BYTES_THROUGH_MAGIC = 17;
/** Smallest legal batchLength of any magic (a v0 message with null key and value). */
export const BATCH_LENGTH_MIN_ANY_MAGIC = 14;
/** Smallest legal batchLength of a v2 batch (a header with no records). */
export const BATCH_LENGTH_MIN_V2 = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** Kafka error code CORRUPT_MESSAGE. */
export const CORRUPT_MESSAGE = 2;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;

/** Attribute bits (DefaultRecordBatch). */
export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

/** Timestamp types as Kafka numbers them in the attributes bit. */
export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;

/**
 * A batch or message that cannot be parsed: too short, bad length, bad CRC, bad varint, or a
 * count that disagrees with the bytes. Carries Kafka's CORRUPT_MESSAGE error code (2).
 *
 * @example
 * ```ts
 * try { readBatchHeader(new Uint8Array(3), 0); } catch (e) { (e as CorruptBatchError).code; } // 2
 * ```
 */
export class CorruptBatchError extends KafkaError {
  override name = "CorruptBatchError";
  constructor(message: string, options?: ErrorOptions) {
    super(CORRUPT_MESSAGE, message, options);
  }
}

/** The 61-byte v2 batch header, int64 fields as safe-integer numbers. */
export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a big-endian int64 as a number; throws CorruptBatchError when it is not a safe integer. */
export function readInt64Number(view: DataView, at: number, field: string): number {
  const hi = view.getInt32(at);
  const lo = view.getUint32(at + 4);
  const value = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(value)) {
    throw new CorruptBatchError(`Cannot read ${field} at offset ${at}: value exceeds 2^53.`);
  }
  return value;
}

/** Writes a safe-integer number as a big-endian int64. */
export function writeInt64Number(view: DataView, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot write int64 ${value}: not a safe integer.`);
  }
  const hi = Math.floor(value / 0x1_0000_0000);
  view.setInt32(at, hi);
  view.setUint32(at + 4, value - hi * 0x1_0000_0000);
}

/**
 * Returns the full size of the batch at `pos` (12 + batchLength), or null when fewer than 12 bytes
 * remain. Works for every magic. Throws CorruptBatchError when batchLength is below the smallest
 * legal message size (14).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const value = new Uint8Array([1]);
 * const buf = encodeBatch({
 *   baseOffset: 0,
 *   records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value, headers: [] }],
 * });
 * assert.equal(batchSizeAt(buf, 0), 69); // 61-byte header + one 8-byte record
 * assert.equal(batchSizeAt(buf.subarray(0, 11), 0), null); // fewer than 12 bytes
 * ```
 */
export function batchSizeAt(buf: Uint8Array, pos: number): number | null {
  if (buf.length - pos < LOG_OVERHEAD_BYTES) return null;
  const batchLength = viewOf(buf).getInt32(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN_ANY_MAGIC) {
    throw new CorruptBatchError(
      `Batch at offset ${pos} has length ${batchLength}, below the minimum ${BATCH_LENGTH_MIN_ANY_MAGIC}.`,
    );
  }
  return LOG_OVERHEAD_BYTES + batchLength;
}

/**
 * Returns the magic byte of the batch at `pos`; throws CorruptBatchError when fewer than 17 bytes
 * remain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, records: [] });
 * assert.equal(magicAt(buf, 0), 2); // below 2 would be a legacy message set
 * ```
 */
export function magicAt(buf: Uint8Array, pos: number): number {
  if (buf.length - pos < HEADER_BYTES_THROUGH_MAGIC) {
    throw new CorruptBatchError(
      `Cannot read magic at offset ${pos}: ${Math.max(0, buf.length - pos)} bytes remain.`,
    );
  }
  return viewOf(buf).getInt8(pos + MAGIC_OFFSET);
}

/**
 * Reads the v2 header of the batch at `pos`. Throws CorruptBatchError when the header is short,
 * the magic is not 2, the batch length is below 49 or runs past the buffer, or an int64 is unsafe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const value = new Uint8Array([1]);
 * const buf = encodeBatch({
 *   baseOffset: 100,
 *   records: [0, 1, 2].map((i) => ({
 *     offsetDelta: i,
 *     timestampDelta: 0,
 *     key: null,
 *     value,
 *     headers: [],
 *   })),
 * });
 * const h = readBatchHeader(buf, 0);
 * assert.equal(h.recordCount, 3);
 * assert.equal(h.baseOffset + h.lastOffsetDelta, 102); // the batch's last offset
 * ```
 */
export function readBatchHeader(buf: Uint8Array, pos: number): BatchHeader {
  const remaining = buf.length - pos;
  if (pos < 0 || remaining < BATCH_HEADER_BYTES) {
    throw new CorruptBatchError(
      `Cannot read batch header at offset ${pos}: ${
        Math.max(0, remaining)
      } bytes remain, ${BATCH_HEADER_BYTES} needed.`,
    );
  }
  const v = viewOf(buf);
  const magic = v.getInt8(pos + MAGIC_OFFSET);
  if (magic !== 2) {
    throw new CorruptBatchError(`Batch at offset ${pos} has magic ${magic}, expected 2.`);
  }
  const batchLength = v.getInt32(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN_V2 || batchLength > remaining - LOG_OVERHEAD_BYTES) {
    throw new CorruptBatchError(
      `Batch at offset ${pos} has length ${batchLength} but ${
        remaining - LOG_OVERHEAD_BYTES
      } bytes follow the header (minimum ${BATCH_LENGTH_MIN_V2}).`,
    );
  }
  return {
    baseOffset: readInt64Number(v, pos + BASE_OFFSET_OFFSET, "baseOffset"),
    batchLength,
    partitionLeaderEpoch: v.getInt32(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: v.getUint32(pos + CRC_OFFSET),
    attributes: v.getInt16(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: v.getInt32(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64Number(v, pos + BASE_TIMESTAMP_OFFSET, "baseTimestamp"),
    maxTimestamp: readInt64Number(v, pos + MAX_TIMESTAMP_OFFSET, "maxTimestamp"),
    producerId: readInt64Number(v, pos + PRODUCER_ID_OFFSET, "producerId"),
    producerEpoch: v.getInt16(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: v.getInt32(pos + BASE_SEQUENCE_OFFSET),
    recordCount: v.getInt32(pos + RECORD_COUNT_OFFSET),
  };
}

/** Bounds of the v2 batch at `pos` as [start, end); throws CorruptBatchError when it is short. */
function v2Bounds(buf: Uint8Array, pos: number): [number, number] {
  const size = batchSizeAt(buf, pos);
  if (size === null || size < BATCH_HEADER_BYTES || pos + size > buf.length) {
    throw new CorruptBatchError(
      `Batch at offset ${pos} needs ${
        size ?? LOG_OVERHEAD_BYTES
      } bytes (at least ${BATCH_HEADER_BYTES}) but ${Math.max(0, buf.length - pos)} remain.`,
    );
  }
  return [pos, pos + size];
}

/**
 * Returns the CRC32C over attributes..end of the batch at `pos`, the range Kafka's checksum
 * covers (so baseOffset, batchLength and partitionLeaderEpoch can be patched without it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, records: [] });
 * assert.equal(computeBatchCrc(buf, 0), readBatchHeader(buf, 0).crc);
 * ```
 */
export function computeBatchCrc(buf: Uint8Array, pos: number): number {
  const [start, end] = v2Bounds(buf, pos);
  return crc32c(buf.subarray(start + ATTRIBUTES_OFFSET, end));
}

/**
 * True when the stored CRC matches the CRC32C of attributes..end. Throws CorruptBatchError when
 * the batch is shorter than its header or its declared length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, records: [] });
 * assert.equal(verifyBatchCrc(buf, 0), true);
 * buf[ATTRIBUTES_OFFSET + 1]! ^= 0x01; // flip a bit the CRC covers
 * assert.equal(verifyBatchCrc(buf, 0), false);
 * ```
 */
export function verifyBatchCrc(buf: Uint8Array, pos: number): boolean {
  const stored = viewOf(buf).getUint32(v2Bounds(buf, pos)[0] + CRC_OFFSET);
  return stored === computeBatchCrc(buf, pos);
}

/**
 * Overwrites baseOffset in place (not covered by the CRC).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, records: [] });
 * setBaseOffset(buf, 0, 42);
 * assert.equal(readBatchHeader(buf, 0).baseOffset, 42);
 * assert.equal(verifyBatchCrc(buf, 0), true); // the CRC does not cover baseOffset
 * ```
 */
export function setBaseOffset(buf: Uint8Array, pos: number, baseOffset: number): void {
  v2Bounds(buf, pos);
  writeInt64Number(viewOf(buf), pos + BASE_OFFSET_OFFSET, baseOffset);
}

/**
 * Overwrites partitionLeaderEpoch in place (not covered by the CRC).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, records: [] });
 * setPartitionLeaderEpoch(buf, 0, 7);
 * assert.equal(readBatchHeader(buf, 0).partitionLeaderEpoch, 7);
 * assert.equal(verifyBatchCrc(buf, 0), true);
 * ```
 */
export function setPartitionLeaderEpoch(buf: Uint8Array, pos: number, epoch: number): void {
  v2Bounds(buf, pos);
  viewOf(buf).setInt32(pos + PARTITION_LEADER_EPOCH_OFFSET, epoch);
}

/**
 * Marks the batch as LogAppendTime with maxTimestamp = `timestampMs` and recomputes the CRC, as
 * Kafka's `DefaultRecordBatch.setMaxTimestamp(LOG_APPEND_TIME, ...)` does. A no-op when both
 * already match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const buf = encodeBatch({ baseOffset: 0, baseTimestamp: 1_000, records: [] });
 * setLogAppendTime(buf, 0, 1_700_000_000_000);
 * const h = readBatchHeader(buf, 0);
 * assert.equal(timestampType(h.attributes), TimestampType.LOG_APPEND_TIME);
 * assert.equal(h.maxTimestamp, 1_700_000_000_000);
 * assert.equal(verifyBatchCrc(buf, 0), true); // the CRC was recomputed
 * ```
 */
export function setLogAppendTime(buf: Uint8Array, pos: number, timestampMs: number): void {
  v2Bounds(buf, pos);
  const v = viewOf(buf);
  const attributes = v.getInt16(pos + ATTRIBUTES_OFFSET);
  const current = readInt64Number(v, pos + MAX_TIMESTAMP_OFFSET, "maxTimestamp");
  if (timestampType(attributes) === TimestampType.LOG_APPEND_TIME && current === timestampMs) {
    return;
  }
  v.setInt16(pos + ATTRIBUTES_OFFSET, attributes | TIMESTAMP_TYPE_MASK);
  writeInt64Number(v, pos + MAX_TIMESTAMP_OFFSET, timestampMs);
  v.setUint32(pos + CRC_OFFSET, computeBatchCrc(buf, pos));
}

/**
 * Compression codec id from batch attributes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
 *
 * @example
 * ```ts
 * compressionOf(0x0001); // 1 (gzip)
 * ```
 */
export function compressionOf(attributes: number): number {
  return attributes & COMPRESSION_CODEC_MASK;
}

/**
 * True when the transactional bit (0x10) is set.
 *
 * @example
 * ```ts
 * isTransactional(0x10); // true
 * ```
 */
export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
}

/**
 * True when the control bit (0x20) is set.
 *
 * @example
 * ```ts
 * isControl(0x30); // true
 * ```
 */
export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_FLAG_MASK) !== 0;
}

/**
 * Timestamp type from attributes: 0 CreateTime, 1 LogAppendTime.
 *
 * @example
 * ```ts
 * timestampType(0x08); // 1
 * ```
 */
export function timestampType(attributes: number): number {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 1 : 0;
}

/**
 * True when the delete-horizon bit (0x40) is set (baseTimestamp holds the delete horizon).
 *
 * @example
 * ```ts
 * hasDeleteHorizon(0x40); // true
 * ```
 */
export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & DELETE_HORIZON_FLAG_MASK) !== 0;
}

/**
 * Iterates whole batches (any magic) in a record set, stopping silently at a partial trailing
 * batch, which Kafka allows at the end of a fetch response. Throws CorruptBatchError on a length
 * below the minimum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "./records.ts";
 * const a = encodeBatch({ baseOffset: 0, records: [] });
 * const b = encodeBatch({ baseOffset: 1, records: [] });
 * const records = new Uint8Array(a.length + b.length + 5); // 5 bytes of a partial third batch
 * records.set(a, 0);
 * records.set(b, a.length);
 * const headers = [...batchesIn(records)].map(({ pos }) => readBatchHeader(records, pos));
 * assert.deepEqual(headers.map((h) => h.baseOffset), [0, 1]);
 * ```
 */
export function* batchesIn(buf: Uint8Array): Generator<{ pos: number; sizeBytes: number }> {
  let pos = 0;
  while (pos < buf.length) {
    const sizeBytes = batchSizeAt(buf, pos);
    if (sizeBytes === null || pos + sizeBytes > buf.length) return;
    yield { pos, sizeBytes };
    pos += sizeBytes;
  }
}
