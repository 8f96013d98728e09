/**
 * A growable buffer that encodes Kafka protocol primitives.
 *
 * Integers are range-checked and strings length-checked; a value that does not fit throws
 * {@link EncodeError}. A writer can be reused with `reset()`.
 *
 * @module
 */

import { EncodeError } from "./errors.ts";
import type { UnknownTaggedField } from "./reader.ts";
import { UUID_BYTES, uuidIntoBytes } from "./uuid.ts";

export { EncodeError };

const utf8 = new TextEncoder();
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The number of UTF-8 bytes `s` encodes to (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/**
 * Encodes Kafka primitives into a growable buffer.
 *
 * @example
 * ```ts
 * import { Writer } from "./writer.ts";
 * const w = new Writer();
 * const at = w.reserveSizePrefix();
 * w.int16(18).int16(3).int32(1);
 * w.patchSizePrefix(at);
 * const frame = w.finish(); // 4-byte size (8) then 8 bytes
 * ```
 */
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /**
   * When true, generated writers silently drop non-default values of fields that do not exist
   * at the chosen version instead of throwing EncodeError. Servers set it for responses: a field
   * an older client cannot read is simply not sent, as Kafka's handlers do by version checks.
   */
  dropAbsentFields = false;

  /**
   * When > 0, {@link raw} bytes at least this long are referenced instead of copied (record sets
   * read from the log); take the result with {@link finishChunks}. They must not change until
   * the chunks are written out.
   */
  referenceBytesMin = 0;
  /** Referenced byte arrays and the position of the owned buffer they follow. */
  #refs: { at: number; bytes: Uint8Array }[] = [];
  #refBytes = 0;

  constructor(initialCapacityBytes = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacityBytes));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len + this.#refBytes;
  }

  /** Forgets the contents, keeping the allocated buffer for reuse. */
  reset(): this {
    this.#len = 0;
    this.#refs = [];
    this.#refBytes = 0;
    return this;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    if (this.#refs.length === 0) return this.#buf.slice(0, this.#len);
    return concatChunks(this.finishChunks(), this.length);
  }

  /** A view of the bytes written so far; valid only until the next write or `reset()`. */
  view(): Uint8Array {
    if (this.#refs.length === 0) return this.#buf.subarray(0, this.#len);
    return concatChunks(this.finishChunks(), this.length);
  }

  /**
   * The bytes written so far as consecutive pieces: views of the owned buffer (valid until the
   * next write or `reset()`) between the referenced arrays, without copying either.
   */
  finishChunks(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const { at, bytes } of this.#refs) {
      if (at > from) chunks.push(this.#buf.subarray(from, at));
      if (bytes.length > 0) chunks.push(bytes);
      from = at;
    }
    if (this.#len > from) chunks.push(this.#buf.subarray(from, this.#len));
    return chunks;
  }

  #ensure(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = need;
    return at;
  }

  #byte(b: number): void {
    const at = this.#ensure(1);
    this.#buf[at] = b;
  }

  #int(v: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new EncodeError(`Cannot encode ${what}: ${v} is out of range`);
    }
  }

  bool(v: boolean): this {
    this.#byte(v ? 1 : 0);
    return this;
  }

  int8(v: number): this {
    this.#int(v, -128, 127, "int8");
    const at = this.#ensure(1);
    this.#view.setInt8(at, v);
    return this;
  }

  int16(v: number): this {
    this.#int(v, -32768, 32767, "int16");
    const at = this.#ensure(2);
    this.#view.setInt16(at, v);
    return this;
  }

  uint16(v: number): this {
    this.#int(v, 0, 65535, "uint16");
    const at = this.#ensure(2);
    this.#view.setUint16(at, v);
    return this;
  }

  int32(v: number): this {
    this.#int(v, -2147483648, 2147483647, "int32");
    const at = this.#ensure(4);
    this.#view.setInt32(at, v);
    return this;
  }

  uint32(v: number): this {
    this.#int(v, 0, 4294967295, "uint32");
    const at = this.#ensure(4);
    this.#view.setUint32(at, v);
    return this;
  }

  int64(v: bigint): this {
    if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) {
      throw new EncodeError(`Cannot encode int64: ${String(v)} is not a 64-bit bigint`);
    }
    const at = this.#ensure(8);
    this.#view.setBigInt64(at, v);
    return this;
  }

  float64(v: number): this {
    if (typeof v !== "number") {
      throw new EncodeError(`Cannot encode float64: ${String(v)} is not a number`);
    }
    const at = this.#ensure(8);
    this.#view.setFloat64(at, v);
    return this;
  }

  /** An unsigned varint (0 .. 2^32-1). */
  uvarint(v: number): this {
    this.#int(v, 0, 4294967295, "unsigned varint");
    while (v >= 0x80) {
      this.#byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.#byte(v);
    return this;
  }

  /** A zigzag-encoded signed 32-bit varint. */
  varint(v: number): this {
    this.#int(v, -2147483648, 2147483647, "varint");
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** A zigzag-encoded signed 64-bit varint. */
  varlong(v: bigint | number): this {
    const b = typeof v === "bigint" ? v : BigInt(v);
    if (b < INT64_MIN || b > INT64_MAX) {
      throw new EncodeError(`Cannot encode varlong: ${b} is out of range`);
    }
    let u = BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
    while (u >= 0x80n) {
      this.#byte(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.#byte(Number(u));
    return this;
  }

  /** Raw bytes, copied in. */
  raw(bytes: Uint8Array): this {
    if (this.referenceBytesMin > 0 && bytes.length >= this.referenceBytesMin) {
      this.#refs.push({ at: this.#len, bytes });
      this.#refBytes += bytes.length;
      return this;
    }
    const at = this.#ensure(bytes.length);
    this.#buf.set(bytes, at);
    return this;
  }

  #utf8(s: string, len: number): void {
    const at = this.#ensure(len);
    const { written } = utf8.encodeInto(s, this.#buf.subarray(at, at + len));
    if (written !== len) throw new EncodeError(`Cannot encode string: UTF-8 length mismatch`);
  }

  /** A non-null string with an int16 length. */
  string(s: string): this {
    if (typeof s !== "string") {
      throw new EncodeError(`Cannot encode string: ${String(s)} is not a string`);
    }
    return this.nullableString(s);
  }

  /** A string with an int16 length; null is written as -1. */
  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    const len = utf8Length(s);
    if (len > 0x7fff) throw new EncodeError(`Cannot encode string: ${len} bytes exceed 32767`);
    this.int16(len);
    this.#utf8(s, len);
    return this;
  }

  /** A non-null compact string (uvarint length + 1). */
  compactString(s: string): this {
    if (typeof s !== "string") {
      throw new EncodeError(`Cannot encode string: ${String(s)} is not a string`);
    }
    return this.compactNullableString(s);
  }

  /** A compact string (uvarint length + 1); null is written as 0. */
  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const len = utf8Length(s);
    if (len > 0x7fff) throw new EncodeError(`Cannot encode string: ${len} bytes exceed 32767`);
    this.uvarint(len + 1);
    this.#utf8(s, len);
    return this;
  }

  /** Non-null bytes with an int32 length. */
  bytes(b: Uint8Array): this {
    if (!(b instanceof Uint8Array)) {
      throw new EncodeError(`Cannot encode bytes: value is not a Uint8Array`);
    }
    return this.int32(b.length).raw(b);
  }

  /** Bytes with an int32 length; null is written as -1. */
  nullableBytes(b: Uint8Array | null): this {
    return b === null ? this.int32(-1) : this.bytes(b);
  }

  /** Non-null compact bytes (uvarint length + 1). */
  compactBytes(b: Uint8Array): this {
    if (!(b instanceof Uint8Array)) {
      throw new EncodeError(`Cannot encode bytes: value is not a Uint8Array`);
    }
    return this.uvarint(b.length + 1).raw(b);
  }

  /** Compact bytes (uvarint length + 1); null is written as 0. */
  compactNullableBytes(b: Uint8Array | null): this {
    return b === null ? this.uvarint(0) : this.compactBytes(b);
  }

  /** A UUID given as Kafka's 22-character base64url string. */
  uuid(s: string): this {
    const at = this.#ensure(UUID_BYTES);
    if (typeof s !== "string" || !uuidIntoBytes(s, this.#buf, at)) {
      this.#len = at;
      throw new EncodeError(
        `Cannot encode uuid ${JSON.stringify(s)}: expected 22 base64url characters`,
      );
    }
    return this;
  }

  /** A non-null array with an int32 length. */
  array<T>(items: readonly T[], writeItem: (w: Writer, item: T) => void): this {
    if (!Array.isArray(items)) throw new EncodeError(`Cannot encode array: value is not an array`);
    this.int32(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** An array with an int32 length; null is written as -1. */
  nullableArray<T>(items: readonly T[] | null, writeItem: (w: Writer, item: T) => void): this {
    return items === null ? this.int32(-1) : this.array(items, writeItem);
  }

  /** A non-null compact array (uvarint length + 1). */
  compactArray<T>(items: readonly T[], writeItem: (w: Writer, item: T) => void): this {
    if (!Array.isArray(items)) throw new EncodeError(`Cannot encode array: value is not an array`);
    this.uvarint(items.length + 1);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** A compact array (uvarint length + 1); null is written as 0. */
  compactNullableArray<T>(
    items: readonly T[] | null,
    writeItem: (w: Writer, item: T) => void,
  ): this {
    return items === null ? this.uvarint(0) : this.compactArray(items, writeItem);
  }

  /** Writes a tagged field: uvarint tag, uvarint size, then what `writeValue` writes. */
  taggedField(tag: number, writeValue: (w: Writer) => void): this {
    const scratch = new Writer(64);
    writeValue(scratch);
    return this.uvarint(tag).uvarint(scratch.length).raw(scratch.view());
  }

  /** Writes an unknown (preserved) tagged field unchanged. */
  unknownTaggedField(field: UnknownTaggedField): this {
    return this.uvarint(field.tag).uvarint(field.data.length).raw(field.data);
  }

  /**
   * Writes the unknown tagged fields `fields[from..]` whose tag is below `beforeTag` (the list is
   * in ascending tag order, as read); returns the index of the first one not written.
   */
  unknownTaggedFields(
    fields: readonly UnknownTaggedField[],
    from: number,
    beforeTag: number,
  ): number {
    let i = from;
    while (i < fields.length && fields[i]!.tag < beforeTag) this.unknownTaggedField(fields[i++]!);
    return i;
  }

  /** Reserves 4 bytes for an int32 size prefix; returns the position for `patchSizePrefix`. */
  reserveSizePrefix(): number {
    return this.#ensure(4);
  }

  /** Writes, at `at`, the number of bytes written after the 4-byte prefix reserved there. */
  patchSizePrefix(at: number): this {
    let referenced = 0;
    for (const ref of this.#refs) if (ref.at >= at + 4) referenced += ref.bytes.length;
    return this.patchInt32(at, this.#len + referenced - at - 4);
  }

  /** Overwrites an int32 at `at` (which must already have been written). */
  patchInt32(at: number, v: number): this {
    if (at < 0 || at + 4 > this.#len) {
      throw new EncodeError(`Cannot patch int32 at offset ${at}: out of bounds`);
    }
    this.#int(v, -2147483648, 2147483647, "int32");
    this.#view.setInt32(at, v);
    return this;
  }
}

function concatChunks(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Returns `value` unless it is null, in which case it throws EncodeError naming `field`: used by
 * generated writers for fields that are nullable only in some versions.
 *
 * @example
 * ```ts
 * import { nonNull } from "./writer.ts";
 * nonNull("x", "topicName"); // "x"
 * ```
 */
export function nonNull<T>(value: T | null, field: string): T {
  if (value === null) {
    throw new EncodeError(`Cannot encode ${field}: it is null but not nullable at this version`);
  }
  return value;
}

/**
 * Deep equality over decoded message values (plain objects, arrays, Uint8Array, bigint,
 * primitives); generated writers use it to compare struct fields with their defaults.
 *
 * @example
 * ```ts
 * import { valuesEqual } from "./writer.ts";
 * valuesEqual({ a: [1n], b: new Uint8Array([1]) }, { a: [1n], b: new Uint8Array([1]) }); // true
 * ```
 */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.hasOwn(rb, k) || !valuesEqual(ra[k], rb[k])) return false;
  }
  return true;
}
