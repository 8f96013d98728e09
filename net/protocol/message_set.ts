/**
 * Legacy message sets, magic v0 and v1 (LegacyRecord), which Produce v0-v2 and Fetch v0-v3 carry.
 *
 * Each entry: offset int64, messageSize int32, then the message: crc uint32 (CRC32, IEEE, over
 * magic..end), magic int8, attributes int8 (bits 0-2 codec, bit 3 timestamp type in v1),
 * timestamp int64 (v1 only), key (int32 length, -1 null), value (int32 length, -1 null).
 * A compressed message is a wrapper whose value is a compressed message set; v1 wrappers carry
 * the absolute offset of the last inner message and the inner offsets are relative (0..n-1).
 *
 * @module
 */
import { Codec, compress, decompress, DECOMPRESSED_BYTES_MAX_DEFAULT } from "./compression.ts";
import { crc32 } from "./crc32c.ts";
import {
  batchesIn,
  CorruptBatchError,
  isControl,
  magicAt,
  readBatchHeader,
  readInt64Number,
  timestampType,
  writeInt64Number,
} from "./record_batch.ts";
import { decodeBatch, encodeBatch, type Record } from "./records.ts";

/** offset int64 + messageSize int32. */
const ENTRY_OVERHEAD_BYTES = 12;
/** crc + magic + attributes + key length + value length. */
const MESSAGE_V0_MIN_BYTES = 14;
const MESSAGE_V1_MIN_BYTES = 22;
const TIMESTAMP_TYPE_BIT = 0x08;
/** NO_TIMESTAMP in Kafka. */
export const NO_TIMESTAMP = -1;

/** One decoded legacy message with its absolute offset (after unwrapping compression). */
export interface LegacyMessage {
  offset: number;
  magic: number;
  /** -1 for magic v0. */
  timestamp: number;
  /** 0 CreateTime, 1 LogAppendTime. */
  timestampType: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** Options for {@link decodeMessageSet}. */
export interface DecodeMessageSetOptions {
  /** Stop silently at a partial trailing message, as in fetch responses. Default false. */
  allowTruncatedTail?: boolean;
  decompressedBytesMax?: number;
}

interface RawMessage {
  offset: number;
  magic: number;
  attributes: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

function readNullable(v: DataView, buf: Uint8Array, at: number, end: number, what: string) {
  if (at + 4 > end) throw new CorruptBatchError(`Legacy message ${what} length is cut off.`);
  const length = v.getInt32(at);
  if (length < 0) return { bytes: null, next: at + 4 };
  if (length > end - at - 4) {
    throw new CorruptBatchError(
      `Legacy message ${what} claims ${length} bytes but ${end - at - 4} remain.`,
    );
  }
  return { bytes: buf.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

/** Parses one entry at `pos`; returns null when it is partial. */
function readEntry(buf: Uint8Array, pos: number): { msg: RawMessage; next: number } | null {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length - pos < ENTRY_OVERHEAD_BYTES) return null;
  const size = v.getInt32(pos + 8);
  if (size < MESSAGE_V0_MIN_BYTES) {
    throw new CorruptBatchError(`Legacy message at ${pos} has size ${size}, below the minimum 14.`);
  }
  const end = pos + ENTRY_OVERHEAD_BYTES + size;
  if (end > buf.length) return null;
  const m = pos + ENTRY_OVERHEAD_BYTES;
  const crc = v.getUint32(m);
  const magic = v.getInt8(m + 4);
  if (magic !== 0 && magic !== 1) {
    throw new CorruptBatchError(`Legacy message at ${pos} has magic ${magic}, expected 0 or 1.`);
  }
  if (magic === 1 && size < MESSAGE_V1_MIN_BYTES) {
    throw new CorruptBatchError(`Legacy v1 message at ${pos} has size ${size}, below 22.`);
  }
  const actual = crc32(buf.subarray(m + 4, end));
  if (actual !== crc) {
    throw new CorruptBatchError(`Legacy message at ${pos} fails its CRC32 check.`);
  }
  const attributes = v.getInt8(m + 5);
  const timestamp = magic === 1 ? readInt64Number(v, m + 6, "timestamp") : NO_TIMESTAMP;
  const key = readNullable(v, buf, m + (magic === 1 ? 14 : 6), end, "key");
  const value = readNullable(v, buf, key.next, end, "value");
  if (value.next !== end) {
    throw new CorruptBatchError(`Legacy message at ${pos} has ${end - value.next} extra bytes.`);
  }
  const offset = readInt64Number(v, pos, "offset");
  return {
    msg: { offset, magic, attributes, timestamp, key: key.bytes, value: value.bytes },
    next: end,
  };
}

function readEntries(buf: Uint8Array, allowTruncatedTail: boolean): RawMessage[] {
  const out: RawMessage[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const entry = readEntry(buf, pos);
    if (entry === null) {
      if (allowTruncatedTail) break;
      throw new CorruptBatchError(`Legacy message at ${pos} is cut off.`);
    }
    out.push(entry.msg);
    pos = entry.next;
  }
  return out;
}

function unwrap(wrapper: RawMessage, maxBytes: number): LegacyMessage[] {
  const codec = wrapper.attributes & 0x07;
  if (codec === Codec.ZSTD || codec > 4) {
    throw new CorruptBatchError(`Legacy message uses codec ${codec}, not allowed below magic 2.`);
  }
  if (wrapper.value === null) {
    throw new CorruptBatchError("Compressed legacy message has no value.");
  }
  const inner = readEntries(decompress(codec, wrapper.value, maxBytes), false);
  if (inner.length === 0) throw new CorruptBatchError("Compressed legacy message is empty.");
  const logAppend = (wrapper.attributes & TIMESTAMP_TYPE_BIT) !== 0 && wrapper.magic === 1;
  const lastInner = inner[inner.length - 1]!.offset;
  return inner.map((m) => {
    if ((m.attributes & 0x07) !== 0) {
      throw new CorruptBatchError("Compressed legacy message holds a compressed inner message.");
    }
    if (m.magic !== wrapper.magic) {
      throw new CorruptBatchError("Legacy inner message magic differs from its wrapper.");
    }
    // v1: inner offsets are relative; the wrapper holds the absolute offset of the last one.
    const offset = wrapper.magic === 1 ? wrapper.offset - lastInner + m.offset : m.offset;
    return {
      offset,
      magic: m.magic,
      timestamp: logAppend ? wrapper.timestamp : m.timestamp,
      timestampType: logAppend ? 1 : 0,
      key: m.key,
      value: m.value,
    };
  });
}

/**
 * Decodes a legacy message set (magic v0/v1), unwrapping compressed messages. Throws
 * CorruptBatchError on CRC mismatch, bad sizes, nested compression or oversize decompression.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const value = new TextEncoder().encode("v");
 * const set = encodeMessageSet({
 *   magic: 1,
 *   compression: 1,
 *   baseOffset: 10,
 *   messages: [{ key: null, value, timestamp: 5 }, { key: null, value, timestamp: 6 }],
 * });
 * const messages = decodeMessageSet(set);
 * assert.deepEqual(messages.map((m) => [m.offset, m.timestamp]), [[10, 5], [11, 6]]);
 * ```
 */
export function decodeMessageSet(
  bytes: Uint8Array,
  options: DecodeMessageSetOptions = {},
): LegacyMessage[] {
  const maxBytes = options.decompressedBytesMax ?? DECOMPRESSED_BYTES_MAX_DEFAULT;
  const out: LegacyMessage[] = [];
  for (const m of readEntries(bytes, options.allowTruncatedTail ?? false)) {
    if ((m.attributes & 0x07) !== 0) {
      out.push(...unwrap(m, maxBytes));
      continue;
    }
    const logAppend = m.magic === 1 && (m.attributes & TIMESTAMP_TYPE_BIT) !== 0;
    const { offset, magic, timestamp, key, value } = m;
    out.push({ offset, magic, timestamp, timestampType: logAppend ? 1 : 0, key, value });
  }
  return out;
}

/**
 * The codec of a legacy message set: that of its first message (0 when empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const messages = [{ key: null, value: new Uint8Array([1]) }];
 * const gzipped = encodeMessageSet({ magic: 0, compression: 1, messages });
 * assert.equal(messageSetCodec(gzipped), 1); // gzip
 * assert.equal(messageSetCodec(encodeMessageSet({ magic: 0, messages })), 0);
 * ```
 */
export function messageSetCodec(bytes: Uint8Array): number {
  return bytes.length >= ENTRY_OVERHEAD_BYTES + 6 ? bytes[ENTRY_OVERHEAD_BYTES + 5]! & 0x07 : 0;
}

/** Options for {@link convertMessageSetToBatch}. */
export interface ConvertOptions {
  /** Default 0; the broker overwrites it when appending. */
  baseOffset?: number;
  /** Codec of the v2 batch; default: the codec of the message set. */
  compression?: number;
  partitionLeaderEpoch?: number;
  decompressedBytesMax?: number;
}

/**
 * Converts a legacy message set to one v2 batch (as Kafka's LogValidator up-converts old
 * clients' produce requests): offsetDelta is each message's position, timestamps carry over
 * (NO_TIMESTAMP for v0), no producer id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBatch } from "./records.ts";
 * const value = new TextEncoder().encode("v");
 * const set = encodeMessageSet({ magic: 1, messages: [{ key: null, value, timestamp: 1_000 }] });
 * const batch = convertMessageSetToBatch(set, { baseOffset: 0 });
 * const { header, records } = decodeBatch(batch);
 * assert.equal(header.magic, 2);
 * assert.equal(header.baseTimestamp, 1_000);
 * assert.deepEqual(records[0]?.value, value);
 * ```
 */
export function convertMessageSetToBatch(
  bytes: Uint8Array,
  options: ConvertOptions = {},
): Uint8Array {
  const messages = decodeMessageSet(bytes, { decompressedBytesMax: options.decompressedBytesMax });
  const stamped = messages.filter((m) => m.timestamp !== NO_TIMESTAMP);
  const baseTimestamp = messages.length === 0 ? NO_TIMESTAMP : messages[0]!.timestamp;
  const records: Record[] = messages.map((m, i) => ({
    offsetDelta: i,
    timestampDelta: m.timestamp === NO_TIMESTAMP || baseTimestamp === NO_TIMESTAMP
      ? 0
      : m.timestamp - baseTimestamp,
    key: m.key,
    value: m.value,
    headers: [],
  }));
  const maxTimestamp = stamped.length === 0
    ? NO_TIMESTAMP
    : stamped.reduce((a, m) => Math.max(a, m.timestamp), -Infinity);
  return encodeBatch({
    baseOffset: options.baseOffset ?? 0,
    records,
    compression: options.compression ?? messageSetCodec(bytes),
    baseTimestamp,
    maxTimestamp,
    timestampType: messages[0]?.timestampType ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
  });
}

/** One message to encode. */
export interface LegacyMessageInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Ignored for magic 0; default -1. */
  timestamp?: number;
}

/** Options for {@link encodeMessageSet}. */
export interface EncodeMessageSetOptions {
  magic: 0 | 1;
  messages: LegacyMessageInput[];
  baseOffset?: number;
  /** 0 none, 1 gzip, 2 snappy, 3 lz4 (zstd is not allowed below magic 2). */
  compression?: number;
  /** v1 only: 1 marks LogAppendTime on the (wrapper) messages. */
  timestampType?: number;
}

function encodeMessage(
  o: { offset: number; magic: number; attributes: number; timestamp: number },
  key: Uint8Array | null,
  value: Uint8Array | null,
): Uint8Array {
  const size = (o.magic === 1 ? MESSAGE_V1_MIN_BYTES : MESSAGE_V0_MIN_BYTES) +
    (key?.length ?? 0) + (value?.length ?? 0);
  const out = new Uint8Array(ENTRY_OVERHEAD_BYTES + size);
  const v = new DataView(out.buffer);
  writeInt64Number(v, 0, o.offset);
  v.setInt32(8, size);
  v.setInt8(16, o.magic);
  v.setInt8(17, o.attributes);
  let at = 18;
  if (o.magic === 1) {
    writeInt64Number(v, at, o.timestamp);
    at += 8;
  }
  for (const field of [key, value]) {
    v.setInt32(at, field === null ? -1 : field.length);
    at += 4;
    if (field !== null) {
      out.set(field, at);
      at += field.length;
    }
  }
  v.setUint32(12, crc32(out.subarray(16)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Encodes a legacy message set (magic v0/v1), optionally as one compressed wrapper message with
 * v1 relative inner offsets. LZ4 under magic 0 writes Kafka's old header checksum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const value = new TextEncoder().encode("v");
 * const messages = [{ key: null, value, timestamp: 1 }];
 * const set = encodeMessageSet({ magic: 1, compression: 1, messages });
 * assert.equal(messageSetCodec(set), 1); // one gzip wrapper message
 * assert.deepEqual(decodeMessageSet(set)[0]?.value, value);
 * ```
 */
export function encodeMessageSet(o: EncodeMessageSetOptions): Uint8Array {
  const codec = o.compression ?? 0;
  if (codec < 0 || codec > 3) {
    throw new RangeError(`Cannot encode magic ${o.magic} with codec ${codec}.`);
  }
  const base = o.baseOffset ?? 0;
  const tsBit = o.magic === 1 && o.timestampType === 1 ? TIMESTAMP_TYPE_BIT : 0;
  const ts = (
    m: LegacyMessageInput,
  ) => (o.magic === 1 ? m.timestamp ?? NO_TIMESTAMP : NO_TIMESTAMP);
  if (codec === 0) {
    return concat(
      o.messages.map((m, i) =>
        encodeMessage(
          { offset: base + i, magic: o.magic, attributes: tsBit, timestamp: ts(m) },
          m.key,
          m.value,
        )
      ),
    );
  }
  const inner = concat(o.messages.map((m, i) =>
    encodeMessage(
      { offset: o.magic === 1 ? i : base + i, magic: o.magic, attributes: 0, timestamp: ts(m) },
      m.key,
      m.value,
    )
  ));
  const packed = compress(codec, inner, { lz4LegacyHeaderChecksum: o.magic === 0 });
  const maxTs = o.messages.reduce((a, m) => Math.max(a, ts(m)), NO_TIMESTAMP);
  return encodeMessage(
    {
      offset: base + o.messages.length - 1,
      magic: o.magic,
      attributes: codec | tsBit,
      timestamp: maxTs,
    },
    null,
    packed,
  );
}

/** Options for {@link downConvertBatches}. */
export interface DownConvertOptions {
  /** 0 for Fetch v0-v1, 1 for Fetch v2-v3. */
  magic: 0 | 1;
  /** Records below this offset (the fetch offset) are left out. */
  fromOffset: number;
  /**
   * Stop before a message that would make the set larger than this (decompressed batches can
   * grow far past the fetch's byte limit); the first message is always included. Default: no
   * limit.
   */
  sizeBytesMax?: number;
  decompressedBytesMax?: number;
}

/**
 * Converts stored v2 batches to an uncompressed legacy message set for clients that fetch with
 * Fetch v0-v3 (Kafka's `RecordsUtil.downConvert`): one message per record at its own offset,
 * control batches and record headers dropped, timestamps kept for magic 1 (the batch's max
 * timestamp under LogAppendTime, as Kafka). A partial trailing batch is left out; batches already
 * at magic 0/1 are copied as they are.
 *
 * @example
 * ```ts
 * import { encodeBatch } from "./records.ts";
 * const value = new Uint8Array([1]);
 * const batch = encodeBatch({
 *   baseOffset: 5,
 *   baseTimestamp: 1000,
 *   records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value, headers: [] }],
 * });
 * const set = downConvertBatches(batch, { magic: 1, fromOffset: 0 });
 * decodeMessageSet(set)[0]; // { offset: 5, magic: 1, timestamp: 1000, ... }
 * ```
 */
export function downConvertBatches(bytes: Uint8Array, options: DownConvertOptions): Uint8Array {
  const parts: Uint8Array[] = [];
  const sizeBytesMax = options.sizeBytesMax ?? Infinity;
  let sizeBytes = 0;
  const add = (part: Uint8Array): boolean => {
    if (parts.length > 0 && sizeBytes + part.length > sizeBytesMax) return false;
    parts.push(part);
    sizeBytes += part.length;
    return true;
  };
  for (const batch of batchesIn(bytes)) {
    const batchBytes = bytes.subarray(batch.pos, batch.pos + batch.sizeBytes);
    if (magicAt(bytes, batch.pos) < 2) {
      if (!add(batchBytes)) break;
      continue;
    }
    const header = readBatchHeader(bytes, batch.pos);
    if (isControl(header.attributes)) continue;
    const logAppendTime = timestampType(header.attributes) === 1;
    const { records } = decodeBatch(batchBytes, {
      decompressedBytesMax: options.decompressedBytesMax,
    });
    for (const r of records) {
      const offset = header.baseOffset + r.offsetDelta;
      if (offset < options.fromOffset) continue;
      const timestamp = options.magic === 0
        ? NO_TIMESTAMP
        : logAppendTime
        ? header.maxTimestamp
        : header.baseTimestamp + r.timestampDelta;
      const attributes = options.magic === 1 && logAppendTime ? TIMESTAMP_TYPE_BIT : 0;
      const message = encodeMessage(
        { offset, magic: options.magic, attributes, timestamp },
        r.key,
        r.value,
      );
      if (!add(message)) return concat(parts);
    }
  }
  return concat(parts);
}
