/**
 * Full decode/encode of magic v2 record batches (DefaultRecordBatch + DefaultRecord), including
 * compression and control records. The hot path keeps batches as bytes (see record_batch.ts);
 * use this module only where a feature needs the records themselves.
 *
 * Record layout (DefaultRecord): length varint, attributes int8, timestampDelta varlong,
 * offsetDelta varint, keyLength varint, key, valueLength varint, value, headerCount varint,
 * then per header: keyLength varint, key (UTF-8), valueLength varint, value. Lengths of -1 mean
 * null. Varints are zigzag-encoded base-128, as protobuf's sint32/sint64.
 *
 * Decoded keys, values and header values are views into the input (or into the decompressed
 * buffer), not copies.
 *
 * @module
 */
import {
  compress,
  type CompressOptions,
  decompress,
  DECOMPRESSED_BYTES_MAX_DEFAULT,
} from "./compression.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  compressionOf,
  CONTROL_FLAG_MASK,
  CorruptBatchError,
  CRC_OFFSET,
  LOG_OVERHEAD_BYTES,
  readBatchHeader,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  writeInt64Number,
} from "./record_batch.ts";

/** One record header; the key is never null. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** One record of a v2 batch, with offset and timestamp relative to the batch. */
export interface Record {
  offsetDelta: number;
  timestampDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** A decoded batch: its header and its records. */
export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

/** Options for {@link decodeBatch}. */
export interface DecodeBatchOptions {
  /** Skip the CRC check (e.g. when the caller already verified it). Default false. */
  skipCrcCheck?: boolean;
  /** Bound on the decompressed size of the records. */
  decompressedBytesMax?: number;
}

/** What {@link encodeBatch} needs; everything but baseOffset and records has Kafka's default. */
export interface EncodeBatchOptions {
  baseOffset: number;
  records: Record[];
  /** Codec id 0-4 (default 0, none). */
  compression?: number;
  /** First timestamp of the batch (default 0; Kafka uses the first record's timestamp). */
  baseTimestamp?: number;
  /** Default: baseTimestamp + the largest timestampDelta (baseTimestamp for an empty batch). */
  maxTimestamp?: number;
  /** 0 CreateTime (default), 1 LogAppendTime. */
  timestampType?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  partitionLeaderEpoch?: number;
  /** Default: the last record's offsetDelta (0 for an empty batch). */
  lastOffsetDelta?: number;
  compressOptions?: CompressOptions;
}

/** Control record types (ControlRecordType.java; KRaft types from KIP-595/KIP-630/KIP-853). */
export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6,
} as const;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------- varints

/**
 * A bounded cursor over record bytes whose every failure is a CorruptBatchError. `end` narrows to
 * one record's body while it is read, so no reader is allocated per record.
 */
class RecordReader {
  constructor(readonly buf: Uint8Array, public pos: number, public end: number) {}

  varint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.short("varint");
      const b = this.buf[this.pos++]!;
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) {
        if (i === 4 && b > 0x0f) break;
        return (value >>> 1) ^ -(value & 1);
      }
    }
    throw new CorruptBatchError(
      `Varint at offset ${this.pos} is longer than 5 bytes or too large.`,
    );
  }

  varlong(): number {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.short("varlong");
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > Number.MAX_SAFE_INTEGER) break;
        return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
    }
    throw new CorruptBatchError(`Varlong at offset ${this.pos} exceeds 2^53 or 10 bytes.`);
  }

  int8(): number {
    if (this.pos >= this.end) throw this.short("int8");
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  bytes(length: number, what: string): Uint8Array {
    if (length > this.end - this.pos) {
      throw new CorruptBatchError(
        `Cannot read ${what} of ${length} bytes at offset ${this.pos}: ${
          this.end - this.pos
        } remain.`,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  nullableBytes(what: string): Uint8Array | null {
    const length = this.varint();
    return length < 0 ? null : this.bytes(length, what);
  }

  short(what: string): CorruptBatchError {
    return new CorruptBatchError(`Cannot read ${what} at offset ${this.pos}: record ends.`);
  }
}

/** Bytes a zigzag varint of `value` (int32) takes. */
export function sizeOfVarint(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** Bytes a zigzag varlong of `value` (safe integer) takes. */
export function sizeOfVarlong(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, at: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

function writeVarlong(buf: Uint8Array, at: number, value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

// ---------------------------------------------------------------- records

/** Reads the record at `r.pos` into `into`'s fields and moves `r` past it. */
function readRecord(r: RecordReader, into: RecordCursor): void {
  const bodyBytes = r.varint();
  if (bodyBytes < 0 || bodyBytes > r.end - r.pos) {
    throw new CorruptBatchError(
      `Record at offset ${r.pos} claims ${bodyBytes} bytes but ${r.end - r.pos} remain.`,
    );
  }
  const start = r.pos;
  const outerEnd = r.end;
  r.end = start + bodyBytes;
  r.int8(); // attributes, unused
  into.timestampDelta = r.varlong();
  into.offsetDelta = r.varint();
  into.key = r.nullableBytes("key");
  into.value = r.nullableBytes("value");
  const headerCount = r.varint();
  if (headerCount < 0) {
    throw new CorruptBatchError(`Record has negative header count ${headerCount}.`);
  }
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const keyLength = r.varint();
    if (keyLength < 0) throw new CorruptBatchError("Record header has a null key.");
    const keyBytes = r.bytes(keyLength, "header key");
    let headerKey: string;
    try {
      headerKey = utf8Decoder.decode(keyBytes);
    } catch {
      throw new CorruptBatchError("Record header key is not valid UTF-8.");
    }
    headers.push({ key: headerKey, value: r.nullableBytes("header value") });
  }
  into.headers = headers;
  if (r.pos !== r.end) {
    throw new CorruptBatchError(
      `Record claims ${bodyBytes} bytes but its fields take ${r.pos - start}.`,
    );
  }
  r.end = outerEnd;
}

/**
 * Steps through the `count` records of a batch body one at a time: after each `next()` that
 * returns true its fields hold the current record (keys, values and header values are views
 * into `bytes`). It checks exactly what {@link decodeRecords} checks, in the same order, but
 * allocates no Record per record, for a reader that copies the fields into objects of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const list: Record[] = [
 *   { offsetDelta: 0, timestampDelta: 0, key: null, value: new Uint8Array([1]), headers: [] },
 *   { offsetDelta: 1, timestampDelta: 5, key: new Uint8Array([2]), value: null, headers: [] },
 * ];
 * const cursor = new RecordCursor(encodeRecords(list), list.length);
 * const offsetDeltas: number[] = [];
 * while (cursor.next()) offsetDeltas.push(cursor.offsetDelta);
 * assert.deepEqual(offsetDeltas, [0, 1]);
 * ```
 */
export class RecordCursor {
  offsetDelta = 0;
  timestampDelta = 0;
  key: Uint8Array | null = null;
  value: Uint8Array | null = null;
  headers: RecordHeader[] = [];
  readonly #reader: RecordReader;
  readonly #count: number;
  #index = 0;

  /** Throws CorruptBatchError when `count` is negative. */
  constructor(bytes: Uint8Array, count: number) {
    if (count < 0) {
      throw new CorruptBatchError(`Batch declares a negative record count ${count}.`);
    }
    this.#reader = new RecordReader(bytes, 0, bytes.length);
    this.#count = count;
  }

  /**
   * Moves to the next record; false after the last one, once no bytes are left over. Throws
   * CorruptBatchError on a malformed record, on fewer records than declared, or on bytes after
   * the last one.
   */
  next(): boolean {
    const r = this.#reader;
    if (this.#index === this.#count) {
      if (r.pos !== r.end) {
        throw new CorruptBatchError(
          `Batch holds ${r.end - r.pos} bytes after its ${this.#count} declared records.`,
        );
      }
      return false;
    }
    if (r.pos >= r.end) {
      throw new CorruptBatchError(
        `Batch declares ${this.#count} records but holds only ${this.#index}.`,
      );
    }
    readRecord(r, this);
    this.#index++;
    return true;
  }
}

interface SizedRecord {
  record: Record;
  bodyBytes: number;
  headerKeys: Uint8Array[];
}

function sizeRecord(record: Record): SizedRecord {
  const headerKeys = record.headers.map((h) => utf8Encoder.encode(h.key));
  let n = 1 + sizeOfVarlong(record.timestampDelta) + sizeOfVarint(record.offsetDelta);
  n += record.key === null ? 1 : sizeOfVarint(record.key.length) + record.key.length;
  n += record.value === null ? 1 : sizeOfVarint(record.value.length) + record.value.length;
  n += sizeOfVarint(record.headers.length);
  record.headers.forEach((h, i) => {
    const k = headerKeys[i]!;
    n += sizeOfVarint(k.length) + k.length;
    n += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  });
  return { record, bodyBytes: n, headerKeys };
}

function writeNullable(buf: Uint8Array, at: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, at, -1);
  at = writeVarint(buf, at, bytes.length);
  buf.set(bytes, at);
  return at + bytes.length;
}

function writeRecord(buf: Uint8Array, at: number, s: SizedRecord): number {
  const { record } = s;
  at = writeVarint(buf, at, s.bodyBytes);
  buf[at++] = 0; // attributes
  at = writeVarlong(buf, at, record.timestampDelta);
  at = writeVarint(buf, at, record.offsetDelta);
  at = writeNullable(buf, at, record.key);
  at = writeNullable(buf, at, record.value);
  at = writeVarint(buf, at, record.headers.length);
  record.headers.forEach((h, i) => {
    at = writeNullable(buf, at, s.headerKeys[i]!);
    at = writeNullable(buf, at, h.value);
  });
  return at;
}

/**
 * Encodes records back to back as they appear inside a v2 batch (uncompressed).
 *
 * @example
 * ```ts
 * const body = encodeRecords([{ offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] }]);
 * ```
 */
export function encodeRecords(records: Record[]): Uint8Array {
  const sized = records.map(sizeRecord);
  const total = sized.reduce((n, s) => n + sizeOfVarint(s.bodyBytes) + s.bodyBytes, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const s of sized) at = writeRecord(out, at, s);
  return out;
}

/**
 * Decodes `count` records from `bytes`, which must hold exactly those records.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const list: Record[] = [
 *   { offsetDelta: 0, timestampDelta: 0, key: null, value: new Uint8Array([1]), headers: [] },
 *   { offsetDelta: 1, timestampDelta: 5, key: new Uint8Array([2]), value: null, headers: [] },
 * ];
 * const records = decodeRecords(encodeRecords(list), list.length);
 * assert.deepEqual(records, list);
 * ```
 */
export function decodeRecords(bytes: Uint8Array, count: number): Record[] {
  const cursor = new RecordCursor(bytes, count);
  const records: Record[] = [];
  while (cursor.next()) {
    const { offsetDelta, timestampDelta, key, value, headers } = cursor;
    records.push({ offsetDelta, timestampDelta, key, value, headers });
  }
  return records;
}

// ---------------------------------------------------------------- batches

/**
 * Decodes the v2 batch at the start of `bytes` (exactly one batch; trailing bytes are ignored),
 * verifying its CRC and decompressing its records. Throws CorruptBatchError on any defect.
 *
 * @example
 * ```ts
 * const { header, records } = decodeBatch(encodeBatch({ baseOffset: 0, records: [] }));
 * ```
 */
export function decodeBatch(bytes: Uint8Array, options: DecodeBatchOptions = {}): DecodedBatch {
  const { header, plain } = openBatchBody(bytes, options);
  return { header, records: decodeRecords(plain, header.recordCount) };
}

/**
 * Like {@link decodeBatch}, but hands back a {@link RecordCursor} over the records instead of
 * Record objects: the header, CRC and decompression are checked here, each record as the cursor
 * reaches it (a batch is whole only once `next()` returned false).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const value = new Uint8Array([7]);
 * const bytes = encodeBatch({
 *   baseOffset: 10,
 *   records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value, headers: [] }],
 * });
 * const { header, records } = openBatch(bytes);
 * assert.equal(records.next(), true);
 * assert.equal(header.baseOffset + records.offsetDelta, 10);
 * assert.deepEqual(records.value, value);
 * assert.equal(records.next(), false);
 * ```
 */
export function openBatch(
  bytes: Uint8Array,
  options: DecodeBatchOptions = {},
): { header: BatchHeader; records: RecordCursor } {
  const { header, plain } = openBatchBody(bytes, options);
  return { header, records: new RecordCursor(plain, header.recordCount) };
}

/** The header and the decompressed record bytes of the batch at the start of `bytes`. */
function openBatchBody(
  bytes: Uint8Array,
  options: DecodeBatchOptions,
): { header: BatchHeader; plain: Uint8Array } {
  const header = readBatchHeader(bytes, 0);
  const end = LOG_OVERHEAD_BYTES + header.batchLength;
  if (!options.skipCrcCheck) {
    const actual = crc32c(bytes.subarray(ATTRIBUTES_OFFSET, end));
    if (actual !== header.crc) {
      throw new CorruptBatchError(
        `Batch CRC is ${header.crc.toString(16)} but its bytes hash to ${actual.toString(16)}.`,
      );
    }
  }
  const codec = compressionOf(header.attributes);
  const stored = bytes.subarray(BATCH_HEADER_BYTES, end);
  const plain = codec === 0
    ? stored
    : decompress(codec, stored, options.decompressedBytesMax ?? DECOMPRESSED_BYTES_MAX_DEFAULT);
  return { header, plain };
}

function attributesOf(o: EncodeBatchOptions): number {
  let a = o.compression ?? 0;
  if (a < 0 || a > 4) throw new RangeError(`Cannot encode batch with codec ${a}.`);
  if ((o.timestampType ?? 0) === 1) a |= TIMESTAMP_TYPE_MASK;
  if (o.transactional) a |= TRANSACTIONAL_FLAG_MASK;
  if (o.control) a |= CONTROL_FLAG_MASK;
  return a;
}

/**
 * Encodes a v2 batch with a correct CRC32C. Fields left out take Kafka's defaults: no producer
 * (-1/-1/-1), partitionLeaderEpoch -1, CreateTime, no compression.
 *
 * @example
 * ```ts
 * const bytes = encodeBatch({
 *   baseOffset: 0,
 *   baseTimestamp: Date.now(),
 *   records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: new Uint8Array([1]), headers: [] }],
 *   compression: 1,
 * });
 * ```
 */
export function encodeBatch(o: EncodeBatchOptions): Uint8Array {
  const attributes = attributesOf(o);
  const body = compress(o.compression ?? 0, encodeRecords(o.records), o.compressOptions);
  const out = new Uint8Array(BATCH_HEADER_BYTES + body.length);
  const v = new DataView(out.buffer);
  const baseTimestamp = o.baseTimestamp ?? 0;
  const maxDelta = o.records.reduce((m, r) => Math.max(m, r.timestampDelta), -Infinity);
  const maxTimestamp = o.maxTimestamp ??
    (o.records.length === 0 ? baseTimestamp : baseTimestamp + maxDelta);
  const lastOffsetDelta = o.lastOffsetDelta ?? (o.records.at(-1)?.offsetDelta ?? 0);
  writeInt64Number(v, 0, o.baseOffset);
  v.setInt32(8, out.length - LOG_OVERHEAD_BYTES);
  v.setInt32(12, o.partitionLeaderEpoch ?? -1);
  v.setInt8(16, 2);
  v.setInt16(21, attributes);
  v.setInt32(23, lastOffsetDelta);
  writeInt64Number(v, 27, baseTimestamp);
  writeInt64Number(v, 35, maxTimestamp);
  writeInt64Number(v, 43, o.producerId ?? -1);
  v.setInt16(51, o.producerEpoch ?? -1);
  v.setInt32(53, o.baseSequence ?? -1);
  v.setInt32(57, o.records.length);
  out.set(body, BATCH_HEADER_BYTES);
  v.setUint32(CRC_OFFSET, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
  return out;
}

// ---------------------------------------------------------------- control records

/**
 * Encodes a control record key: int16 version, int16 type (ControlRecordType.java).
 *
 * @example
 * ```ts
 * encodeControlKey(ControlRecordType.COMMIT); // Uint8Array [0, 0, 0, 1]
 * ```
 */
export function encodeControlKey(type: number, version = 0): Uint8Array {
  const out = new Uint8Array(4);
  const v = new DataView(out.buffer);
  v.setInt16(0, version);
  v.setInt16(2, type);
  return out;
}

/**
 * Decodes a control record key; throws CorruptBatchError when it is null or shorter than 4 bytes.
 *
 * @example
 * ```ts
 * decodeControlKey(new Uint8Array([0, 0, 0, 1])); // { version: 0, type: 1 }
 * ```
 */
export function decodeControlKey(key: Uint8Array | null): { version: number; type: number } {
  if (key === null || key.length < 4) {
    throw new CorruptBatchError(`Control record key has ${key?.length ?? "null"} bytes, 4 needed.`);
  }
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { version: v.getInt16(0), type: v.getInt16(2) };
}

/**
 * Encodes an end-transaction marker value: int16 version (0), int32 coordinatorEpoch.
 *
 * @example
 * ```ts
 * encodeEndTxnMarkerValue(5); // Uint8Array [0, 0, 0, 0, 0, 5]
 * ```
 */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number): Uint8Array {
  const out = new Uint8Array(6);
  new DataView(out.buffer).setInt32(2, coordinatorEpoch);
  return out;
}

/**
 * Decodes an end-transaction marker value; throws CorruptBatchError when it is too short.
 *
 * @example
 * ```ts
 * decodeEndTxnMarkerValue(new Uint8Array([0, 0, 0, 0, 0, 5])); // { version: 0, coordinatorEpoch: 5 }
 * ```
 */
export function decodeEndTxnMarkerValue(
  value: Uint8Array | null,
): { version: number; coordinatorEpoch: number } {
  if (value === null || value.length < 6) {
    throw new CorruptBatchError("End transaction marker value is shorter than 6 bytes.");
  }
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { version: v.getInt16(0), coordinatorEpoch: v.getInt32(2) };
}
