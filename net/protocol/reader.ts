/**
 * A bounded cursor over a Uint8Array that decodes Kafka protocol primitives.
 *
 * Every read checks bounds first and throws {@link DecodeError} with a one-sentence message. Lengths
 * of strings, bytes and arrays are checked against the remaining bytes before anything is
 * allocated, so a hostile length can never allocate more than the frame. Bytes are returned as
 * views (`subarray`) into the frame, not copies.
 *
 * @module
 */

import { DecodeError } from "./errors.ts";
import { UUID_BYTES, uuidFromBytes } from "./uuid.ts";

export { DecodeError };

/** A tagged field the schema does not know, preserved so it can be re-written unchanged. */
export interface UnknownTaggedField {
  tag: number;
  data: Uint8Array;
}

const utf8 = new TextDecoder("utf-8");

/**
 * Decodes Kafka primitives from `bytes[offset, end)`.
 *
 * @example
 * ```ts
 * import { Reader } from "./reader.ts";
 * const r = new Reader(new Uint8Array([0, 18, 0, 3]));
 * r.int16(); // 18
 * r.int16(); // 3
 * r.remaining; // 0
 * ```
 */
export class Reader {
  /** The underlying buffer (the whole frame, shared with returned views). */
  readonly buf: Uint8Array;
  /** The offset of the next byte to read. */
  offset: number;
  /** One past the last readable byte. */
  readonly end: number;
  readonly #view: DataView;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError(`Cannot read [${offset}, ${end}) of a ${buf.length}-byte buffer`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws DecodeError unless at least `n` bytes remain for a value of kind `what`. */
  need(n: number, what: string): void {
    if (n > this.end - this.offset) {
      throw new DecodeError(
        `Cannot decode ${what} at offset ${this.offset}: ${n} bytes needed, ${this.remaining} remain`,
      );
    }
  }

  #fixed(n: number, what: string): number {
    const at = this.offset;
    if (at + n > this.end) {
      throw new DecodeError(`Cannot decode ${what} at offset ${at}: ${this.end - at} bytes remain`);
    }
    this.offset = at + n;
    return at;
  }

  bool(): boolean {
    return this.buf[this.#fixed(1, "bool")] !== 0;
  }

  int8(): number {
    return this.#view.getInt8(this.#fixed(1, "int8"));
  }

  int16(): number {
    return this.#view.getInt16(this.#fixed(2, "int16"));
  }

  uint16(): number {
    return this.#view.getUint16(this.#fixed(2, "uint16"));
  }

  int32(): number {
    return this.#view.getInt32(this.#fixed(4, "int32"));
  }

  uint32(): number {
    return this.#view.getUint32(this.#fixed(4, "uint32"));
  }

  int64(): bigint {
    return this.#view.getBigInt64(this.#fixed(8, "int64"));
  }

  float64(): number {
    return this.#view.getFloat64(this.#fixed(8, "float64"));
  }

  /** An unsigned varint of at most 5 bytes (0 .. 2^32-1), as Kafka's `readUnsignedVarint`. */
  uvarint(): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) {
        throw new DecodeError(`Cannot decode varint at offset ${start}: the input ends inside it`);
      }
      const b = this.buf[this.offset++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) break;
        return value;
      }
      scale *= 128;
    }
    throw new DecodeError(`Cannot decode varint at offset ${start}: it is longer than 5 bytes`);
  }

  /** A zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const u = this.uvarint();
    return (u % 2 === 0) ? u / 2 : -(u + 1) / 2;
  }

  /** A zigzag-encoded signed 64-bit varint of at most 10 bytes. */
  varlong(): bigint {
    const start = this.offset;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) {
        throw new DecodeError(`Cannot decode varlong at offset ${start}: the input ends inside it`);
      }
      const b = this.buf[this.offset++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        value = BigInt.asUintN(64, value);
        return (value >> 1n) ^ -(value & 1n);
      }
      shift += 7n;
    }
    throw new DecodeError(`Cannot decode varlong at offset ${start}: it is longer than 10 bytes`);
  }

  /** A zigzag-encoded signed varlong returned as a number; throws if not a safe integer. */
  varlongNumber(): number {
    const start = this.offset;
    const v = this.varlong();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError(`Cannot decode varlong at offset ${start}: ${v} is not a safe integer`);
    }
    return Number(v);
  }

  /** `n` raw bytes as a view into the frame. */
  raw(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) {
      throw new DecodeError(`Cannot decode raw bytes at offset ${this.offset}: bad length ${n}`);
    }
    const at = this.#fixed(n, `${n} raw bytes`);
    return this.buf.subarray(at, at + n);
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.raw(n);
  }

  #utf8(len: number, what: string): string {
    if (len > this.end - this.offset) {
      throw new DecodeError(
        `Cannot decode ${what} at offset ${this.offset}: length ${len} exceeds the ${this.remaining} bytes remaining`,
      );
    }
    const at = this.offset;
    this.offset = at + len;
    if (len < 64) {
      let s = "";
      for (let i = at; i < at + len; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return utf8.decode(this.buf.subarray(at, at + len));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(this.buf.subarray(at, at + len));
  }

  /** A non-null string with an int16 length. */
  string(): string {
    const s = this.nullableString();
    if (s === null) {
      throw new DecodeError(`Cannot decode string at offset ${this.offset - 2}: it is null`);
    }
    return s;
  }

  /** A string with an int16 length; -1 means null. */
  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`Cannot decode string at offset ${this.offset - 2}: length ${len}`);
    }
    return this.#utf8(len, "string");
  }

  /** A non-null compact string (uvarint length + 1). */
  compactString(): string {
    const at = this.offset;
    const s = this.compactNullableString();
    if (s === null) {
      throw new DecodeError(`Cannot decode compact string at offset ${at}: it is null`);
    }
    return s;
  }

  /** A compact string (uvarint length + 1); 0 means null. */
  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    if (n - 1 > 0x7fff) {
      throw new DecodeError(
        `Cannot decode compact string at offset ${this.offset}: length ${n - 1} exceeds 32767`,
      );
    }
    return this.#utf8(n - 1, "compact string");
  }

  #bytes(len: number, what: string): Uint8Array {
    if (len > this.end - this.offset) {
      throw new DecodeError(
        `Cannot decode ${what} at offset ${this.offset}: length ${len} exceeds the ${this.remaining} bytes remaining`,
      );
    }
    const at = this.offset;
    this.offset = at + len;
    return this.buf.subarray(at, at + len);
  }

  /** Non-null bytes with an int32 length, as a view. */
  bytes(): Uint8Array {
    const at = this.offset;
    const b = this.nullableBytes();
    if (b === null) throw new DecodeError(`Cannot decode bytes at offset ${at}: they are null`);
    return b;
  }

  /** Bytes with an int32 length (-1 means null), as a view. */
  nullableBytes(): Uint8Array | null {
    const len = this.int32();
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`Cannot decode bytes at offset ${this.offset - 4}: length ${len}`);
    }
    return this.#bytes(len, "bytes");
  }

  /** Non-null compact bytes (uvarint length + 1), as a view. */
  compactBytes(): Uint8Array {
    const at = this.offset;
    const b = this.compactNullableBytes();
    if (b === null) {
      throw new DecodeError(`Cannot decode compact bytes at offset ${at}: they are null`);
    }
    return b;
  }

  /** Compact bytes (uvarint length + 1; 0 means null), as a view. */
  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.#bytes(n - 1, "compact bytes");
  }

  /** A 16-byte UUID as Kafka's 22-character base64url string. */
  uuid(): string {
    const at = this.#fixed(UUID_BYTES, "uuid");
    return uuidFromBytes(this.buf, at);
  }

  #arrayLength(len: number, what: string): number {
    // Every element takes at least one byte on the wire in practice; checking against the
    // remaining bytes bounds the allocation by the frame size (as Kafka's generated code does).
    if (len > this.end - this.offset) {
      throw new DecodeError(
        `Cannot decode ${what} at offset ${this.offset}: ${len} elements exceed the ${this.remaining} bytes remaining`,
      );
    }
    return len;
  }

  /** The int32 length of a (nullable) array: -1 for null; checked against remaining bytes. */
  arrayLength(): number {
    const len = this.int32();
    if (len < -1) {
      throw new DecodeError(`Cannot decode array at offset ${this.offset - 4}: length ${len}`);
    }
    return len === -1 ? -1 : this.#arrayLength(len, "array");
  }

  /** The length of a compact (nullable) array: -1 for null; checked against remaining bytes. */
  compactArrayLength(): number {
    const n = this.uvarint();
    return n === 0 ? -1 : this.#arrayLength(n - 1, "compact array");
  }

  /** A non-null array with an int32 length. */
  array<T>(readItem: (r: Reader) => T): T[] {
    const at = this.offset;
    const a = this.nullableArray(readItem);
    if (a === null) throw new DecodeError(`Cannot decode array at offset ${at}: it is null`);
    return a;
  }

  /** An array with an int32 length; -1 means null. */
  nullableArray<T>(readItem: (r: Reader) => T): T[] | null {
    return this.#items(this.arrayLength(), readItem);
  }

  /** A non-null compact array (uvarint length + 1). */
  compactArray<T>(readItem: (r: Reader) => T): T[] {
    const at = this.offset;
    const a = this.compactNullableArray(readItem);
    if (a === null) {
      throw new DecodeError(`Cannot decode compact array at offset ${at}: it is null`);
    }
    return a;
  }

  /** A compact array (uvarint length + 1); 0 means null. */
  compactNullableArray<T>(readItem: (r: Reader) => T): T[] | null {
    return this.#items(this.compactArrayLength(), readItem);
  }

  #items<T>(len: number, readItem: (r: Reader) => T): T[] | null {
    if (len < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < len; i++) out.push(readItem(this));
    return out;
  }

  /**
   * Reads a flexible-version tagged-field section, calling `readKnown(tag, size)` for each tag;
   * it returns false for tags it does not know, which are collected and returned.
   */
  taggedFields(readKnown: (tag: number, sizeBytes: number) => boolean): UnknownTaggedField[] {
    const count = this.uvarint();
    this.#arrayLength(count, "tagged fields");
    const unknown: UnknownTaggedField[] = [];
    let lastTag = -1;
    for (let i = 0; i < count; i++) {
      const tagAt = this.offset;
      const tag = this.uvarint();
      if (tag <= lastTag) {
        throw new DecodeError(
          `Cannot decode tagged field at offset ${tagAt}: tag ${tag} is out of order`,
        );
      }
      lastTag = tag;
      const size = this.uvarint();
      this.need(size, `tagged field ${tag}`);
      const start = this.offset;
      if (readKnown(tag, size)) {
        if (this.offset - start !== size) {
          throw new DecodeError(
            `Cannot decode tagged field ${tag} at offset ${start}: it used ${
              this.offset - start
            } of its ${size} bytes`,
          );
        }
      } else {
        unknown.push({ tag, data: this.raw(size) });
      }
    }
    return unknown;
  }
}
