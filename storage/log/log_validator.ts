/**
 * Kafka's `LogValidator` for batches a client produces: every record is read (compressed batches
 * are decompressed) and checked, then the batch is normalized the way Kafka stores it.
 *
 * Checks, in Kafka's order and with Kafka's error codes and messages:
 *
 * 1. `UnifiedLog.analyzeAndValidateRecords`: a client batch's baseOffset is 0 (INVALID_RECORD), its
 *    size is within `max.message.bytes` (MESSAGE_TOO_LARGE), its CRC32C matches (CORRUPT_MESSAGE).
 * 2. `LogValidator.validateBatch`: one batch per append, a positive record count equal to
 *    lastOffsetDelta + 1, no control batch, a producer id comes with a sequence (INVALID_RECORD).
 * 3. Record structure (`DefaultRecord.readFrom`): lengths inside the batch, no negative header
 *    count, no null header key, exactly `recordCount` records (INVALID_RECORD).
 * 4. `LogValidator.validateRecord` per record, collected as KIP-467 record errors: a key on
 *    compacted topics (INVALID_RECORD); for CreateTime topics the timestamp within
 *    `message.timestamp.before.max.ms` / `after.max.ms` of now (KIP-937), for LogAppendTime topics
 *    no producer-set LogAppendTime (INVALID_TIMESTAMP wins when both kinds occur).
 *
 * Normalization (`assignOffsetsNonCompressed` / `validateMessagesAndAssignOffsetsCompressed`): the
 * batch's max timestamp is recomputed from its records for CreateTime (a client's header, e.g.
 * -1, is never trusted) or set to now for LogAppendTime, with the timestamp-type bit and CRC
 * rewritten. A compressed batch whose records' offset deltas are not 0..n-1 is rebuilt and
 * recompressed with dense deltas, as Kafka rebuilds it; an uncompressed one keeps its deltas, as in
 * Kafka. A topic whose `compression.type` names a codec other than the batch's has the batch
 * rebuilt with that codec (Kafka's `buildRecordsAndAssignOffsets`), and the rebuilt batch must still
 * fit `max.message.bytes`. Offsets and the leader epoch are assigned later by the log.
 *
 * Pure: bytes in, bytes out; time arrives as `nowMs`.
 *
 * @module
 */
import {
  Codec,
  type CompressOptions,
  decompress,
  DECOMPRESSED_BYTES_MAX_DEFAULT,
} from "../../net/protocol/compression.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchSizeAt,
  compressionOf,
  computeBatchCrc,
  CRC_OFFSET,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  magicAt,
  MAX_TIMESTAMP_OFFSET,
  readBatchHeader,
  TIMESTAMP_TYPE_MASK,
  TimestampType,
  timestampType,
  writeInt64Number,
} from "../../net/protocol/record_batch.ts";
import {
  decodeBatch,
  decodeRecords,
  encodeBatch,
  type Record,
} from "../../net/protocol/records.ts";
import type { LogConfig } from "./log_config.ts";

/** What the validator needs to know about the topic and the moment of the append. */
export interface ClientBatchRules {
  /** `topic-partition`, as Kafka's messages name it. */
  topicPartition: string;
  /** `message.timestamp.type` of the topic. */
  timestampType: "CreateTime" | "LogAppendTime";
  /** The broker's clock at the append; LogAppendTime and the timestamp bounds use it. */
  nowMs: number;
  /** `message.timestamp.before.max.ms`: how far a CreateTime timestamp may lie in the past. */
  timestampBeforeMaxMs: number;
  /** `message.timestamp.after.max.ms`: how far a CreateTime timestamp may lie in the future. */
  timestampAfterMaxMs: number;
  /** `cleanup.policy` contains `compact`: every record needs a key. */
  compacted: boolean;
  /** `max.message.bytes`: the largest batch accepted, its 12-byte log overhead included. */
  maxMessageBytes: number;
  /** Bound on one batch's decompressed records (default 64 MiB). */
  decompressedBytesMax?: number;
  /**
   * The codec batches are stored with (`compression.type`, a {@link Codec} id); null or absent:
   * the producer's.
   */
  targetCodec?: number | null;
  /** Levels for a recompression (`compression.gzip.level`, `compression.zstd.level`). */
  compressOptions?: CompressOptions;
}

/** `compression.type` values as codec ids ("producer": keep the batch's own). */
const CODEC_OF_TOPIC_COMPRESSION: { readonly [k in LogConfig["compressionType"]]: number | null } =
  {
    producer: null,
    uncompressed: Codec.NONE,
    gzip: Codec.GZIP,
    snappy: Codec.SNAPPY,
    lz4: Codec.LZ4,
    zstd: Codec.ZSTD,
  };

/**
 * The rules a topic's log config sets for client batches appended at `nowMs`.
 *
 * @example
 * ```ts
 * import { logConfig } from "./log_config.ts";
 * import { clientBatchRules } from "./log_validator.ts";
 * const rules = clientBatchRules(logConfig({ cleanupPolicy: { delete: false, compact: true } }), {
 *   topicPartition: "orders-0",
 *   nowMs: Date.now(),
 * });
 * console.log(rules.compacted); // true
 * ```
 */
export function clientBatchRules(
  config: LogConfig,
  at: { topicPartition: string; nowMs: number },
): ClientBatchRules {
  return {
    topicPartition: at.topicPartition,
    timestampType: config.messageTimestampType,
    nowMs: at.nowMs,
    timestampBeforeMaxMs: config.messageTimestampBeforeMaxMs,
    timestampAfterMaxMs: config.messageTimestampAfterMaxMs,
    compacted: config.cleanupPolicy.compact,
    maxMessageBytes: config.maxMessageBytes,
    targetCodec: CODEC_OF_TOPIC_COMPRESSION[config.compressionType],
    compressOptions: {
      gzipLevel: config.compressionGzipLevel < 0 ? undefined : config.compressionGzipLevel,
      zstdLevel: config.compressionZstdLevel,
    },
  };
}

/** One refused record: its index in the batch and why (Produce v8+ `record_errors`, KIP-467). */
export interface RecordError {
  batchIndex: number;
  message: string;
}

/**
 * A batch refused because of some of its records: INVALID_TIMESTAMP or INVALID_RECORD with the
 * per-record errors Kafka lists in Produce v8+ responses (Kafka's `RecordValidationException`).
 *
 * @example
 * ```ts
 * import { RecordValidationError } from "./log_validator.ts";
 * const error = new RecordValidationError(32, "One or more records have been rejected due to invalid timestamp", [
 *   { batchIndex: 0, message: "Timestamp 0 of message with offset 0 is out of range." },
 * ]);
 * console.log(error.recordErrors.length); // 1
 * ```
 */
export class RecordValidationError extends KafkaError {
  override name = "RecordValidationError";
  readonly recordErrors: readonly RecordError[];

  constructor(code: number, message: string, recordErrors: readonly RecordError[]) {
    super(code, message);
    this.recordErrors = recordErrors;
  }
}

/** What one record contributes to validation; never holds its bytes. */
interface ScannedRecord {
  offsetDelta: number;
  timestampDelta: number;
  keyBytes: number;
  valueBytes: number;
}

/** A batch that passed every check, with what normalizing it needs. */
interface CheckedBatch {
  pos: number;
  sizeBytes: number;
  header: BatchHeader;
  maxTimestamp: number;
  denseOffsets: boolean;
}

const INT64_MAX = 2n ** 63n - 1n;

function invalidRecord(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_RECORD, message);
}

/**
 * Validates the batches of one client append and returns the bytes to store: `batches` itself,
 * patched in place (max timestamp, timestamp type, CRC), or a rebuilt batch when a compressed
 * batch's offset deltas were not 0..n-1. Nothing is patched unless every check passed. Throws
 * {@link KafkaError} (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD) or
 * {@link RecordValidationError} (INVALID_TIMESTAMP, INVALID_RECORD with record errors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBatch } from "../../net/protocol/records.ts";
 * import { readBatchHeader } from "../../net/protocol/record_batch.ts";
 * import { validateClientBatches } from "./log_validator.ts";
 * const value = new Uint8Array([1]);
 * const sent = encodeBatch({
 *   baseOffset: 0,
 *   baseTimestamp: 1_000,
 *   maxTimestamp: -1, // a client that leaves the header's max timestamp unset
 *   records: [
 *     { offsetDelta: 0, timestampDelta: 0, key: null, value, headers: [] },
 *     { offsetDelta: 1, timestampDelta: 7, key: null, value, headers: [] },
 *   ],
 * });
 * const stored = validateClientBatches(sent, {
 *   topicPartition: "orders-0", timestampType: "CreateTime", nowMs: 2_000,
 *   timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER, timestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
 *   compacted: false, maxMessageBytes: 1048588,
 * });
 * assert.equal(readBatchHeader(stored, 0).maxTimestamp, 1_007);
 * ```
 */
export function validateClientBatches(batches: Uint8Array, rules: ClientBatchRules): Uint8Array {
  if (batches.length === 0) throw invalidRecord("Record batch has no batches at all");
  const batch = checkBatch(batches, rules);
  const codec = compressionOf(batch.header.attributes);
  const targetCodec = rules.targetCodec ?? codec;
  if (batch.denseOffsets && targetCodec === codec) {
    normalizeInPlace(batches, batch, rules);
    return batches;
  }
  const rebuilt = rebuild(batches, batch, rules, targetCodec);
  if (rebuilt.length > rules.maxMessageBytes) {
    throw new KafkaError(
      ErrorCode.MESSAGE_TOO_LARGE,
      `Message batch size is ${rebuilt.length} bytes in append to partition ${rules.topicPartition} which exceeds the maximum configured size of ${rules.maxMessageBytes}.`,
    );
  }
  return rebuilt;
}

function checkBatch(buf: Uint8Array, rules: ClientBatchRules): CheckedBatch {
  const tp = rules.topicPartition;
  const pos = 0;
  const sizeBytes = checkedSize(buf, pos, rules);
  const header = readBatchHeader(buf, pos);
  if (header.baseOffset !== 0) {
    throw invalidRecord(
      `The baseOffset of the record batch in the append to ${tp} should be 0, but it is ${header.baseOffset}`,
    );
  }
  if (computeBatchCrc(buf, pos) !== header.crc) {
    throw new KafkaError(
      ErrorCode.CORRUPT_MESSAGE,
      `Record is corrupt (stored crc = ${header.crc}) in topic partition ${tp}.`,
    );
  }
  // Kafka allows one v2 batch per append (Produce v3+ sends exactly one per partition).
  if (sizeBytes < buf.length) {
    throw invalidRecord("Compressed outer record has more than one batch");
  }
  checkBatchHeader(header, tp);
  const records = scanRecords(recordBytes(buf, pos, sizeBytes, header, rules), header.recordCount);
  const recordTimestamp = timestampType(header.attributes) === TimestampType.LOG_APPEND_TIME
    ? () => header.maxTimestamp
    : (r: ScannedRecord) => header.baseTimestamp + r.timestampDelta;
  const errors: { code: number; error: RecordError }[] = [];
  let maxTimestamp = -1;
  let denseOffsets = true;
  records.forEach((r, batchIndex) => {
    const timestamp = recordTimestamp(r);
    const error = checkRecord(r, timestamp, header, batchIndex, rules);
    if (error !== null) errors.push(error);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    if (r.offsetDelta !== batchIndex) denseOffsets = false;
  });
  throwRecordErrors(errors);
  // Kafka rebuilds only compressed batches whose inner offsets are not 0..n-1.
  denseOffsets ||= compressionOf(header.attributes) === 0;
  return { pos, sizeBytes, header, maxTimestamp, denseOffsets };
}

function checkedSize(buf: Uint8Array, pos: number, rules: ClientBatchRules): number {
  let sizeBytes: number | null;
  try {
    sizeBytes = batchSizeAt(buf, pos);
  } catch (error) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, (error as Error).message);
  }
  if (sizeBytes === null || pos + sizeBytes > buf.length) {
    throw new KafkaError(
      ErrorCode.CORRUPT_MESSAGE,
      `Batch at byte ${pos} of the append to ${rules.topicPartition} is truncated.`,
    );
  }
  if (magicAt(buf, pos) !== 2) {
    throw invalidRecord(
      `Batch at byte ${pos} has magic ${magicAt(buf, pos)}; only v2 batches are stored.`,
    );
  }
  if (sizeBytes > rules.maxMessageBytes) {
    throw new KafkaError(
      ErrorCode.MESSAGE_TOO_LARGE,
      `The record batch size in the append to ${rules.topicPartition} is ${sizeBytes} bytes which exceeds the maximum configured value of ${rules.maxMessageBytes}.`,
    );
  }
  return sizeBytes;
}

/** Kafka's `LogValidator.validateBatch` for a client's v2 batch. */
function checkBatchHeader(h: BatchHeader, tp: string): void {
  const lastOffset = h.baseOffset + h.lastOffsetDelta;
  if (h.lastOffsetDelta + 1 <= 0) {
    throw invalidRecord(
      `Batch has an invalid offset range: [${h.baseOffset}, ${lastOffset}] in topic partition ${tp}`,
    );
  }
  if (h.recordCount <= 0) {
    throw invalidRecord(
      `Invalid reported count for record batch: ${h.recordCount} in topic partition ${tp}`,
    );
  }
  if (h.lastOffsetDelta + 1 !== h.recordCount) {
    throw invalidRecord(
      `Inconsistent batch offset range [${h.baseOffset}, ${lastOffset}] and count of records ${h.recordCount} in topic partition ${tp}`,
    );
  }
  if (isControl(h.attributes)) {
    throw invalidRecord(
      `Clients are not allowed to write control records in topic partition ${tp}`,
    );
  }
  if (h.producerId >= 0 && h.baseSequence < 0) {
    throw invalidRecord(
      `Invalid sequence number ${h.baseSequence} in record batch with producerId ${h.producerId} in topic partition ${tp}`,
    );
  }
}

function recordBytes(
  buf: Uint8Array,
  pos: number,
  sizeBytes: number,
  header: BatchHeader,
  rules: ClientBatchRules,
): Uint8Array {
  const stored = buf.subarray(pos + BATCH_HEADER_BYTES, pos + sizeBytes);
  const codec = compressionOf(header.attributes);
  if (codec === 0) return stored;
  try {
    return decompress(codec, stored, rules.decompressedBytesMax ?? DECOMPRESSED_BYTES_MAX_DEFAULT);
  } catch (error) {
    throw new KafkaError(
      ErrorCode.CORRUPT_MESSAGE,
      `Records of the batch in the append to ${rules.topicPartition} do not decompress: ${
        (error as Error).message
      }`,
    );
  }
}

function checkRecord(
  r: ScannedRecord,
  timestamp: number,
  header: BatchHeader,
  batchIndex: number,
  rules: ClientBatchRules,
): { code: number; error: RecordError } | null {
  if (rules.compacted && r.keyBytes < 0) {
    return {
      code: ErrorCode.INVALID_RECORD,
      error: {
        batchIndex,
        message:
          `Compacted topic cannot accept message without key in topic partition ${rules.topicPartition}`,
      },
    };
  }
  if (rules.timestampType === "CreateTime" && timestamp !== -1) {
    const diffMs = rules.nowMs - timestamp;
    if (diffMs <= rules.timestampBeforeMaxMs && -diffMs <= rules.timestampAfterMaxMs) return null;
    const offset = header.baseOffset + r.offsetDelta;
    return {
      code: ErrorCode.INVALID_TIMESTAMP,
      error: {
        batchIndex,
        message:
          `Timestamp ${timestamp} of message with offset ${offset} is out of range. The timestamp should be within [${
            javaLong(rules.nowMs, -rules.timestampBeforeMaxMs)
          }, ${javaLong(rules.nowMs, rules.timestampAfterMaxMs)}]`,
      },
    };
  }
  if (timestampType(header.attributes) === TimestampType.LOG_APPEND_TIME) {
    return {
      code: ErrorCode.INVALID_TIMESTAMP,
      error: {
        batchIndex,
        message: `Invalid timestamp type in message ${
          describeRecord(r, timestamp, header)
        }. Producer should not set timestamp type to LogAppendTime.`,
      },
    };
  }
  return null;
}

/** `a + b` as Java's long arithmetic prints it (wrapping), for bounds near Long.MAX_VALUE. */
function javaLong(a: number, b: number): string {
  const clamp = (n: number) => n >= 2 ** 63 ? INT64_MAX : n <= -(2 ** 63) ? -INT64_MAX - 1n : null;
  const big = (n: number) => clamp(n) ?? BigInt(Math.trunc(n));
  return BigInt.asIntN(64, big(a) + big(b)).toString();
}

/** Kafka's `DefaultRecord.toString`. */
function describeRecord(r: ScannedRecord, timestamp: number, header: BatchHeader): string {
  return `DefaultRecord(offset=${header.baseOffset + r.offsetDelta}, timestamp=${timestamp}, key=${
    Math.max(0, r.keyBytes)
  } bytes, value=${Math.max(0, r.valueBytes)} bytes)`;
}

/** Kafka's `LogValidator.processRecordErrors`. */
function throwRecordErrors(errors: readonly { code: number; error: RecordError }[]): void {
  if (errors.length === 0) return;
  const recordErrors = errors.map((e) => e.error);
  if (errors.some((e) => e.code === ErrorCode.INVALID_TIMESTAMP)) {
    throw new RecordValidationError(
      ErrorCode.INVALID_TIMESTAMP,
      "One or more records have been rejected due to invalid timestamp",
      recordErrors,
    );
  }
  const shown = recordErrors.slice(0, 3).map((e) =>
    `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`
  );
  throw new RecordValidationError(
    ErrorCode.INVALID_RECORD,
    `One or more records have been rejected due to ${recordErrors.length} record errors in total, and only showing the first three errors at most: [${
      shown.join(", ")
    }]`,
    recordErrors,
  );
}

// ---------------------------------------------------------------- stored batches

/** The header fields that say whether a stored batch's max timestamp can be believed. */
export interface BatchTimestamps {
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

/**
 * True when a stored CreateTime batch's header max timestamp is below its first timestamp, which
 * no correct writer produces: segments written before client batches were validated may hold
 * such headers (a client's -1), so recovery rebuilds their time index from the records and time
 * lookups read the records.
 *
 * @example
 * ```ts
 * import { untrustedMaxTimestamp } from "./log_validator.ts";
 * untrustedMaxTimestamp({ attributes: 0, baseTimestamp: 1_000, maxTimestamp: -1 }); // true
 * untrustedMaxTimestamp({ attributes: 0, baseTimestamp: 1_000, maxTimestamp: 1_005 }); // false
 * ```
 */
export function untrustedMaxTimestamp(h: BatchTimestamps): boolean {
  // A cleaned batch's base timestamp is its delete horizon (KIP-534): above its records by design.
  return timestampType(h.attributes) === TimestampType.CREATE_TIME &&
    !hasDeleteHorizon(h.attributes) && h.maxTimestamp < h.baseTimestamp;
}

/**
 * The largest record timestamp of the stored batch `batchBytes` (CreateTime), or its header's
 * max timestamp when the records cannot be read.
 *
 * @example
 * ```ts
 * import { encodeBatch } from "../../net/protocol/records.ts";
 * import { maxTimestampOfRecords } from "./log_validator.ts";
 * const bytes = encodeBatch({ baseOffset: 0, baseTimestamp: 1_000, maxTimestamp: -1, records: [
 *   { offsetDelta: 0, timestampDelta: 9, key: null, value: null, headers: [] },
 * ] });
 * maxTimestampOfRecords(bytes); // 1_009
 * ```
 */
export function maxTimestampOfRecords(batchBytes: Uint8Array): number {
  let decoded;
  try {
    decoded = decodeBatch(batchBytes, { skipCrcCheck: true });
  } catch {
    return readBatchHeader(batchBytes, 0).maxTimestamp;
  }
  const { header, records } = decoded;
  if (timestampType(header.attributes) === TimestampType.LOG_APPEND_TIME) {
    return header.maxTimestamp;
  }
  return records.reduce((max, r) => Math.max(max, header.baseTimestamp + r.timestampDelta), -1);
}

// ---------------------------------------------------------------- normalization

/** Kafka's `DefaultRecordBatch.setMaxTimestamp`: type bit, max timestamp and CRC. */
function normalizeInPlace(buf: Uint8Array, batch: CheckedBatch, rules: ClientBatchRules): void {
  const logAppendTime = rules.timestampType === "LogAppendTime";
  const maxTimestamp = logAppendTime ? rules.nowMs : batch.maxTimestamp;
  const attributes = logAppendTime
    ? batch.header.attributes | TIMESTAMP_TYPE_MASK
    : batch.header.attributes & ~TIMESTAMP_TYPE_MASK;
  if (attributes === batch.header.attributes && maxTimestamp === batch.header.maxTimestamp) return;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setInt16(batch.pos + ATTRIBUTES_OFFSET, attributes);
  writeInt64Number(view, batch.pos + MAX_TIMESTAMP_OFFSET, maxTimestamp);
  view.setUint32(batch.pos + CRC_OFFSET, computeBatchCrc(buf, batch.pos));
}

/** Kafka's `buildRecordsAndAssignOffsets`: the same records with offset deltas 0..n-1. */
function rebuild(
  buf: Uint8Array,
  batch: CheckedBatch,
  rules: ClientBatchRules,
  codec: number,
): Uint8Array {
  const { header } = batch;
  const plain = recordBytes(buf, batch.pos, batch.sizeBytes, header, rules);
  const decoded = decodeRecords(plain, header.recordCount);
  const logAppendTime = timestampType(header.attributes) === TimestampType.LOG_APPEND_TIME;
  const timestamps = decoded.map((r) =>
    logAppendTime ? header.maxTimestamp : header.baseTimestamp + r.timestampDelta
  );
  const baseTimestamp = timestamps[0] ?? -1;
  const records: Record[] = decoded.map((r, i) => ({
    ...r,
    offsetDelta: i,
    timestampDelta: timestamps[i]! - baseTimestamp,
  }));
  return encodeBatch({
    baseOffset: 0,
    records,
    compression: codec,
    compressOptions: rules.compressOptions,
    baseTimestamp,
    maxTimestamp: rules.timestampType === "LogAppendTime" ? rules.nowMs : batch.maxTimestamp,
    timestampType: rules.timestampType === "LogAppendTime" ? 1 : 0,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    transactional: isTransactional(header.attributes),
    partitionLeaderEpoch: header.partitionLeaderEpoch,
  });
}

// ---------------------------------------------------------------- record scanning

/**
 * Walks `count` records of `bytes` without copying them, with `DefaultRecord.readFrom`'s checks
 * and messages; every failure is INVALID_RECORD.
 */
function scanRecords(bytes: Uint8Array, count: number): ScannedRecord[] {
  const cursor = { pos: 0 };
  const records: ScannedRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (cursor.pos >= bytes.length) {
      throw invalidRecord("Incorrect declared batch size, premature EOF reached");
    }
    records.push(scanRecord(bytes, cursor));
  }
  if (cursor.pos !== bytes.length) {
    throw invalidRecord("Incorrect declared batch size, records still remaining in file");
  }
  return records;
}

function scanRecord(bytes: Uint8Array, cursor: { pos: number }): ScannedRecord {
  const bodyBytes = varint(bytes, cursor, bytes.length);
  const remaining = bytes.length - cursor.pos;
  if (bodyBytes < 0 || bodyBytes > remaining) {
    throw invalidRecord(
      `Invalid record size: expected ${bodyBytes} bytes in record payload, but instead the buffer has only ${remaining} remaining bytes.`,
    );
  }
  const start = cursor.pos;
  const end = start + bodyBytes;
  if (cursor.pos >= end) throw structure();
  cursor.pos++; // attributes: unused in v2
  const timestampDelta = varlong(bytes, cursor, end);
  const offsetDelta = varint(bytes, cursor, end);
  const keyBytes = skipNullable(bytes, cursor, end);
  const valueBytes = skipNullable(bytes, cursor, end);
  const headerCount = varint(bytes, cursor, end);
  if (headerCount < 0) throw invalidRecord(`Found invalid number of record headers ${headerCount}`);
  for (let h = 0; h < headerCount; h++) {
    const keyLength = varint(bytes, cursor, end);
    if (keyLength < 0) throw invalidRecord(`Invalid negative header key size ${keyLength}`);
    skip(cursor, keyLength, end);
    skipNullable(bytes, cursor, end);
  }
  if (cursor.pos !== end) {
    throw invalidRecord(
      `Invalid record size: expected to read ${bodyBytes} bytes in record payload, but instead read ${
        cursor.pos - start
      }`,
    );
  }
  return { offsetDelta, timestampDelta, keyBytes, valueBytes };
}

function structure(): KafkaError {
  return invalidRecord("Found invalid record structure");
}

function skip(cursor: { pos: number }, length: number, end: number): void {
  if (length > end - cursor.pos) throw structure();
  cursor.pos += length;
}

function skipNullable(bytes: Uint8Array, cursor: { pos: number }, end: number): number {
  const length = varint(bytes, cursor, end);
  if (length >= 0) skip(cursor, length, end);
  return length;
}

function varint(bytes: Uint8Array, cursor: { pos: number }, end: number): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (cursor.pos >= end) throw structure();
    const b = bytes[cursor.pos++]!;
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) {
      if (i === 4 && b > 0x0f) break;
      return (value >>> 1) ^ -(value & 1);
    }
  }
  throw structure();
}

function varlong(bytes: Uint8Array, cursor: { pos: number }, end: number): number {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= end) throw structure();
    const b = bytes[cursor.pos++]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (value > Number.MAX_SAFE_INTEGER) break;
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
  }
  throw structure();
}
