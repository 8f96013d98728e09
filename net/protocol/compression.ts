/**
 * Kafka's record compression codecs: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
 *
 * - gzip: fflate (streaming inflate fed in small slices so output stays bounded).
 * - snappy: snappyjs for the raw format; the xerial framing that Java clients write
 *   (`\x82SNAPPY\x00`, int32 version, int32 compatible version, then [int32 length, raw chunk]*)
 *   is parsed and written here. Decompression detects the framing; librdkafka writes raw snappy.
 * - lz4: the LZ4 frame format as KafkaLZ4BlockOutputStream writes it (independent 64 KiB blocks,
 *   no content size, no checksums), implemented here including the block codec because lz4js
 *   writes frames without the block-independence flag, which Java clients reject.
 * - zstd: @bokuweb/zstd-wasm for compression and single-frame decompression, fzstd for
 *   multi-frame input.
 *
 * Every decompression is bounded by `maxOutputBytes`: the output size is bounded from the
 * framing before anything is allocated, and exceeding the limit throws CorruptBatchError.
 *
 * @module
 */
import { Gunzip, gzipSync } from "fflate";
import * as snappy from "snappyjs";
import { decompress as fzstdDecompress } from "fzstd";
import * as zstdWasm from "@bokuweb/zstd-wasm";
import { CorruptBatchError } from "./record_batch.ts";

await zstdWasm.init();

/** Kafka compression codec ids (the low three bits of batch attributes). */
export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
/** Default bound on the decompressed size of one batch's records. */
export const DECOMPRESSED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** Options for {@link compress}. */
export interface CompressOptions {
  /** Write the LZ4 header checksum the broken way Kafka magic v0 did (over the magic too). */
  lz4LegacyHeaderChecksum?: boolean;
  /** Write raw snappy instead of the xerial framing (default: xerial, as Java clients do). */
  snappyRaw?: boolean;
  /** zstd level (default 3, Kafka's default). */
  zstdLevel?: number;
  /** gzip level 0-9 (default 6, as java.util.zip). */
  gzipLevel?: number;
}

/**
 * Compresses `bytes` with Kafka codec `codec`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = new TextEncoder().encode("hello ".repeat(100));
 * const packed = compress(Codec.LZ4, text);
 * assert.ok(packed.length < text.length);
 * assert.deepEqual(decompress(Codec.LZ4, packed), text);
 * ```
 */
export function compress(
  codec: number,
  bytes: Uint8Array,
  options: CompressOptions = {},
): Uint8Array {
  switch (codec) {
    case Codec.NONE:
      return bytes;
    case Codec.GZIP:
      return gzipSync(bytes, { level: (options.gzipLevel ?? 6) as 6 });
    case Codec.SNAPPY:
      return options.snappyRaw ? snappy.compress(bytes) : xerialCompress(bytes);
    case Codec.LZ4:
      return lz4CompressFrame(bytes, options.lz4LegacyHeaderChecksum ?? false);
    case Codec.ZSTD:
      return zstdWasm.compress(bytes, options.zstdLevel ?? 3);
    default:
      throw new CorruptBatchError(`Cannot compress with codec ${codec}: unknown codec id.`);
  }
}

/**
 * Decompresses `bytes` written with Kafka codec `codec`. Throws CorruptBatchError when the input
 * is malformed or would decompress to more than `maxOutputBytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CorruptBatchError } from "./record_batch.ts";
 * const text = new TextEncoder().encode("hello ".repeat(100));
 * for (const codec of [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]) {
 *   const packed = compress(codec, text);
 *   assert.deepEqual(decompress(codec, packed, 1024 * 1024), text);
 *   assert.throws(() => decompress(codec, packed, 100), CorruptBatchError); // over the bound
 * }
 * ```
 */
export function decompress(
  codec: number,
  bytes: Uint8Array,
  maxOutputBytes: number = DECOMPRESSED_BYTES_MAX_DEFAULT,
): Uint8Array {
  try {
    switch (codec) {
      case Codec.NONE:
        return checkedSize(bytes, maxOutputBytes);
      case Codec.GZIP:
        return gunzipBounded(bytes, maxOutputBytes);
      case Codec.SNAPPY:
        return isXerial(bytes)
          ? xerialDecompress(bytes, maxOutputBytes)
          : snappyRawDecompress(bytes, maxOutputBytes);
      case Codec.LZ4:
        return lz4DecompressFrame(bytes, maxOutputBytes);
      case Codec.ZSTD:
        return zstdDecompress(bytes, maxOutputBytes);
      default:
        throw new CorruptBatchError(`Cannot decompress codec ${codec}: unknown codec id.`);
    }
  } catch (e) {
    if (e instanceof CorruptBatchError) throw e;
    throw new CorruptBatchError(
      `Cannot decompress codec ${codec}: ${e instanceof Error ? e.message : String(e)}.`,
      { cause: e },
    );
  }
}

function checkedSize(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (bytes.length > maxOutputBytes) throw tooLarge(bytes.length, maxOutputBytes);
  return bytes;
}

function tooLarge(sizeBytes: number, maxOutputBytes: number): CorruptBatchError {
  return new CorruptBatchError(
    `Decompressed size ${sizeBytes} exceeds the limit of ${maxOutputBytes} bytes.`,
  );
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------- gzip

/** Input slice fed to the inflater per step; deflate expands at most ~1032x, so ~8 MiB per step. */
const GZIP_SLICE_BYTES = 8 * 1024;

function gunzipBounded(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxOutputBytes) throw tooLarge(total, maxOutputBytes);
    chunks.push(chunk);
  });
  if (bytes.length === 0) throw new CorruptBatchError("Cannot gunzip an empty input.");
  for (let at = 0; at < bytes.length; at += GZIP_SLICE_BYTES) {
    const end = Math.min(bytes.length, at + GZIP_SLICE_BYTES);
    g.push(bytes.subarray(at, end), end === bytes.length);
  }
  return concat(chunks, total);
}

// ---------------------------------------------------------------- snappy

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER_BYTES = 16;
/** Block size of xerial's SnappyOutputStream default, which Kafka's Java client uses. */
const XERIAL_BLOCK_BYTES = 32 * 1024;
/** Snappy expands at most 64 bytes per 2-3 input bytes; anything claiming more is corrupt. */
const SNAPPY_EXPANSION_MAX = 32;

function isXerial(bytes: Uint8Array): boolean {
  if (bytes.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (bytes[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function xerialCompress(bytes: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = XERIAL_HEADER_BYTES;
  for (let at = 0; at < bytes.length; at += XERIAL_BLOCK_BYTES) {
    const c = snappy.compress(bytes.subarray(at, at + XERIAL_BLOCK_BYTES));
    chunks.push(c);
    total += 4 + c.length;
  }
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(XERIAL_MAGIC, 0);
  v.setInt32(8, 1); // version
  v.setInt32(12, 1); // minimum compatible version
  let at = XERIAL_HEADER_BYTES;
  for (const c of chunks) {
    v.setInt32(at, c.length);
    out.set(c, at + 4);
    at += 4 + c.length;
  }
  return out;
}

/** Reads the varint uncompressed length at the start of a raw snappy block. */
function snappyLength(bytes: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= bytes.length) break;
    const b = bytes[i]!;
    result += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return result;
  }
  throw new CorruptBatchError("Snappy block has a malformed length prefix.");
}

function snappyRawDecompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const length = snappyLength(bytes);
  if (length > maxOutputBytes) throw tooLarge(length, maxOutputBytes);
  if (length > bytes.length * SNAPPY_EXPANSION_MAX + 32) {
    throw new CorruptBatchError(
      `Snappy block of ${bytes.length} bytes claims ${length} bytes, more than snappy can expand.`,
    );
  }
  return snappy.uncompress(bytes, maxOutputBytes);
}

function xerialDecompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < bytes.length;) {
    if (at + 4 > bytes.length) {
      throw new CorruptBatchError("Xerial snappy chunk length is cut off.");
    }
    const size = v.getInt32(at);
    if (size < 0 || at + 4 + size > bytes.length) {
      throw new CorruptBatchError(
        `Xerial snappy chunk at ${at} claims ${size} bytes past the end.`,
      );
    }
    const block = bytes.subarray(at + 4, at + 4 + size);
    total += snappyLength(block);
    if (total > maxOutputBytes) throw tooLarge(total, maxOutputBytes);
    blocks.push(block);
    at += 4 + size;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const block of blocks) {
    const plain = snappyRawDecompress(block, maxOutputBytes);
    out.set(plain, o);
    o += plain.length;
  }
  return out;
}

// ---------------------------------------------------------------- lz4

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_BYTES = 64 * 1024; // BD code 4, Kafka's default
const LZ4_UNCOMPRESSED_BIT = 0x80000000;
const LZ4_MIN_MATCH = 4;
/** A match must start at least 12 bytes before the block end (LZ4 block format, MFLIMIT). */
const LZ4_MF_LIMIT = 12;
/** The last 5 bytes of a block are always literals (LZ4 block format, LASTLITERALS). */
const LZ4_LAST_LITERALS = 5;
const LZ4_HASH_LOG = 16;
/** Copies shorter than this go byte by byte; subarray + set costs more for them. */
const SHORT_COPY_BYTES = 32;
const lz4HashTable = new Int32Array(1 << LZ4_HASH_LOG);

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function readU32LE(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** XXH32 with seed 0, used for LZ4 frame descriptor and block checksums. */
export function xxh32(b: Uint8Array, start = 0, end = b.length): number {
  let i = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (PRIME32_1 + PRIME32_2) | 0;
    let v2 = PRIME32_2;
    let v3 = 0;
    let v4 = -PRIME32_1 | 0;
    const round = (acc: number, lane: number) =>
      Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) | 0, 13), PRIME32_1);
    for (; i + 16 <= end; i += 16) {
      v1 = round(v1, readU32LE(b, i));
      v2 = round(v2, readU32LE(b, i + 4));
      v3 = round(v3, readU32LE(b, i + 8));
      v4 = round(v4, readU32LE(b, i + 12));
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    h = PRIME32_5;
  }
  h = (h + (end - start)) | 0;
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(rotl32((h + Math.imul(readU32LE(b, i), PRIME32_3)) | 0, 17), PRIME32_4);
  }
  for (; i < end; i++) h = Math.imul(rotl32((h + Math.imul(b[i]!, PRIME32_5)) | 0, 11), PRIME32_1);
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

function lz4WriteLength(dst: Uint8Array, d: number, extra: number): number {
  let n = extra;
  for (; n >= 255; n -= 255) dst[d++] = 255;
  dst[d++] = n;
  return d;
}

function lz4WriteSequence(
  dst: Uint8Array,
  d: number,
  src: Uint8Array,
  seq: { litStart: number; litEnd: number; offset: number; matchLength: number },
): number {
  const lit = seq.litEnd - seq.litStart;
  const ml = seq.matchLength - LZ4_MIN_MATCH;
  dst[d++] = (Math.min(lit, 15) << 4) | (seq.offset === 0 ? 0 : Math.min(ml, 15));
  if (lit >= 15) d = lz4WriteLength(dst, d, lit - 15);
  if (lit < SHORT_COPY_BYTES) {
    for (let k = seq.litStart; k < seq.litEnd; k++) dst[d++] = src[k]!;
  } else {
    dst.set(src.subarray(seq.litStart, seq.litEnd), d);
    d += lit;
  }
  if (seq.offset === 0) return d; // last literals
  dst[d++] = seq.offset & 0xff;
  dst[d++] = seq.offset >>> 8;
  if (ml >= 15) d = lz4WriteLength(dst, d, ml - 15);
  return d;
}

/** Compresses src[start, end) as one independent LZ4 block into dst at d; returns the new d. */
function lz4CompressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number) {
  lz4HashTable.fill(-1);
  const matchStartLimit = end - LZ4_MF_LIMIT;
  const matchEndLimit = end - LZ4_LAST_LITERALS;
  let anchor = start;
  let i = start;
  let misses = 0;
  while (i <= matchStartLimit) {
    const seq = readU32LE(src, i);
    const h = Math.imul(seq, 2654435761) >>> (32 - LZ4_HASH_LOG);
    const ref = lz4HashTable[h]!;
    lz4HashTable[h] = i;
    if (ref < start || i - ref > 0xffff || readU32LE(src, ref) !== seq) {
      i += 1 + (misses++ >> 6);
      continue;
    }
    misses = 0;
    let len = LZ4_MIN_MATCH;
    while (i + len < matchEndLimit && src[ref + len] === src[i + len]) len++;
    d = lz4WriteSequence(dst, d, src, {
      litStart: anchor,
      litEnd: i,
      offset: i - ref,
      matchLength: len,
    });
    i += len;
    anchor = i;
  }
  return lz4WriteSequence(dst, d, src, {
    litStart: anchor,
    litEnd: end,
    offset: 0,
    matchLength: 0,
  });
}

function lz4CompressFrame(bytes: Uint8Array, legacyHeaderChecksum: boolean): Uint8Array {
  const blocks = Math.ceil(bytes.length / LZ4_BLOCK_BYTES);
  const bound = 7 + 4 + blocks * (4 + LZ4_BLOCK_BYTES + Math.ceil(LZ4_BLOCK_BYTES / 255) + 16);
  const out = new Uint8Array(bound);
  const v = new DataView(out.buffer);
  v.setUint32(0, LZ4_MAGIC, true);
  out[4] = 0x60; // FLG: version 01, block independence; no checksums, no content size
  out[5] = 0x40; // BD: 64 KiB blocks
  out[6] = (xxh32(out, legacyHeaderChecksum ? 0 : 4, 6) >>> 8) & 0xff;
  let d = 7;
  const scratch = new Uint8Array(LZ4_BLOCK_BYTES + Math.ceil(LZ4_BLOCK_BYTES / 255) + 16);
  for (let at = 0; at < bytes.length; at += LZ4_BLOCK_BYTES) {
    const end = Math.min(bytes.length, at + LZ4_BLOCK_BYTES);
    const size = lz4CompressBlock(bytes, at, end, scratch, 0);
    if (size >= end - at) {
      v.setUint32(d, (end - at) | LZ4_UNCOMPRESSED_BIT, true);
      out.set(bytes.subarray(at, end), d + 4);
      d += 4 + end - at;
    } else {
      v.setUint32(d, size, true);
      out.set(scratch.subarray(0, size), d + 4);
      d += 4 + size;
    }
  }
  v.setUint32(d, 0, true); // end mark
  return out.slice(0, d + 4);
}

function lz4Corrupt(what: string): CorruptBatchError {
  return new CorruptBatchError(`LZ4 frame is corrupt: ${what}.`);
}

function lz4ReadLength(src: Uint8Array, s: number, end: number): [number, number] {
  let n = 0;
  for (;;) {
    if (s >= end) throw lz4Corrupt("a length runs past the block");
    const b = src[s++]!;
    n += b;
    if (b !== 255) return [n, s];
  }
}

/** Decodes one LZ4 block src[s, end) into out at o (never past outEnd); returns the new o. */
function lz4DecodeBlock(src: Uint8Array, s: number, end: number, out: Uint8Array, o: number) {
  const outEnd = out.length;
  for (;;) {
    if (s >= end) throw lz4Corrupt("a block ends without its last literals");
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) [lit, s] = ((r) => [r[0] + 15, r[1]])(lz4ReadLength(src, s, end));
    if (s + lit > end || o + lit > outEnd) throw lz4Corrupt("literals run past the block");
    if (lit < SHORT_COPY_BYTES) {
      for (let k = 0; k < lit; k++) out[o++] = src[s++]!;
    } else {
      out.set(src.subarray(s, s + lit), o);
      s += lit;
      o += lit;
    }
    if (s === end) return o;
    if (s + 2 > end) throw lz4Corrupt("a match offset is cut off");
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > o) throw lz4Corrupt(`match offset ${offset} is out of range`);
    let ml = token & 15;
    if (ml === 15) [ml, s] = ((r) => [r[0] + 15, r[1]])(lz4ReadLength(src, s, end));
    ml += LZ4_MIN_MATCH;
    if (o + ml > outEnd) throw lz4Corrupt("a match runs past the output bound");
    if (offset >= ml && ml >= SHORT_COPY_BYTES) {
      out.copyWithin(o, o - offset, o - offset + ml);
      o += ml;
    } else {
      for (let k = 0; k < ml; k++, o++) out[o] = out[o - offset]!;
    }
  }
}

interface Lz4Block {
  start: number;
  end: number;
  compressed: boolean;
}

function lz4ParseFrame(bytes: Uint8Array): { blocks: Lz4Block[]; bound: number } {
  if (bytes.length < 7 || readU32LE(bytes, 0) !== LZ4_MAGIC) throw lz4Corrupt("bad magic");
  const flg = bytes[4]!;
  const bd = bytes[5]!;
  if (flg >>> 6 !== 1) throw lz4Corrupt(`unsupported version ${flg >>> 6}`);
  const bsCode = (bd >>> 4) & 7;
  if (bsCode < 4) throw lz4Corrupt(`invalid block size code ${bsCode}`);
  const blockMax = 1 << (2 * bsCode + 8);
  const blockChecksum = (flg & 0x10) !== 0;
  let s = (flg & 0x08) !== 0 ? 14 : 6; // optional 8-byte content size
  if (s >= bytes.length) throw lz4Corrupt("the frame descriptor is cut off");
  const hc = bytes[s]!;
  // Kafka magic v0 clients computed the checksum over the magic too; accept both.
  if (
    ((xxh32(bytes, 4, s) >>> 8) & 0xff) !== hc && ((xxh32(bytes, 0, s) >>> 8) & 0xff) !== hc
  ) throw lz4Corrupt("frame descriptor checksum mismatch");
  s++;
  const blocks: Lz4Block[] = [];
  let bound = 0;
  for (;;) {
    if (s + 4 > bytes.length) throw lz4Corrupt("missing end mark");
    const word = readU32LE(bytes, s);
    s += 4;
    if (word === 0) break;
    const size = word & ~LZ4_UNCOMPRESSED_BIT;
    const compressed = (word & LZ4_UNCOMPRESSED_BIT) === 0;
    if (size > blockMax) throw lz4Corrupt(`block of ${size} bytes exceeds ${blockMax}`);
    if (s + size + (blockChecksum ? 4 : 0) > bytes.length) throw lz4Corrupt("a block is cut off");
    if (blockChecksum && xxh32(bytes, s, s + size) !== readU32LE(bytes, s + size)) {
      throw lz4Corrupt("block checksum mismatch");
    }
    blocks.push({ start: s, end: s + size, compressed });
    bound += compressed ? Math.min(blockMax, size * 255 + 24) : size;
    s += size + (blockChecksum ? 4 : 0);
  }
  return { blocks, bound };
}

function lz4DecompressFrame(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const { blocks, bound } = lz4ParseFrame(bytes);
  const out = new Uint8Array(Math.min(bound, maxOutputBytes));
  let o = 0;
  for (const b of blocks) {
    if (b.compressed) {
      try {
        o = lz4DecodeBlock(bytes, b.start, b.end, out, o);
      } catch (e) {
        if (o + LZ4_BLOCK_BYTES > maxOutputBytes && bound > maxOutputBytes) {
          throw tooLarge(bound, maxOutputBytes);
        }
        throw e;
      }
    } else {
      if (o + b.end - b.start > out.length) throw tooLarge(o + b.end - b.start, maxOutputBytes);
      out.set(bytes.subarray(b.start, b.end), o);
      o += b.end - b.start;
    }
  }
  return out.subarray(0, o);
}

// ---------------------------------------------------------------- zstd

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_BYTES_MAX = 128 * 1024;

interface ZstdFrameInfo {
  frames: number;
  bound: number;
  contentSizeKnown: boolean;
}

/** Walks zstd frames and block headers to bound the output without decompressing. */
function zstdScan(bytes: Uint8Array): ZstdFrameInfo {
  let s = 0;
  let frames = 0;
  let bound = 0;
  let contentSizeKnown = true;
  const need = (n: number) => {
    if (s + n > bytes.length) throw new CorruptBatchError("Zstd frame is cut off.");
  };
  while (s < bytes.length) {
    need(4);
    const magic = readU32LE(bytes, s);
    s += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) { // skippable frame
      need(4);
      s += 4 + readU32LE(bytes, s);
      need(0);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new CorruptBatchError("Zstd frame has a bad magic number.");
    frames++;
    need(1);
    const fhd = bytes[s++]!;
    const singleSegment = (fhd >>> 5) & 1;
    const fcsFlag = fhd >>> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    if (fcsBytes === 0) contentSizeKnown = false;
    s += (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
    for (let last = 0; !last;) {
      need(3);
      const header = bytes[s]! | (bytes[s + 1]! << 8) | (bytes[s + 2]! << 16);
      s += 3;
      last = header & 1;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new CorruptBatchError("Zstd block has the reserved type.");
      if (size > ZSTD_BLOCK_BYTES_MAX) throw new CorruptBatchError("Zstd block is too large.");
      bound += type === 2 ? ZSTD_BLOCK_BYTES_MAX : size;
      s += type === 1 ? 1 : size;
      need(0);
    }
    if ((fhd >>> 2) & 1) s += 4; // content checksum
    need(0);
  }
  if (frames === 0) throw new CorruptBatchError("Zstd input holds no frame.");
  return { frames, bound, contentSizeKnown };
}

function zstdDecompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const { frames, bound } = zstdScan(bytes);
  const capacity = Math.min(bound, maxOutputBytes);
  if (frames === 1) {
    // The wasm decoder allocates the frame content size when present, else `defaultHeapSize`.
    const fcs = zstdFrameContentSize(bytes);
    if (fcs !== null && fcs > capacity) throw tooLarge(fcs, maxOutputBytes);
    try {
      return zstdWasm.decompress(bytes, { defaultHeapSize: Math.max(1, capacity) });
    } catch (e) {
      if (bound > maxOutputBytes) throw tooLarge(bound, maxOutputBytes);
      throw e;
    }
  }
  if (bound > maxOutputBytes) throw tooLarge(bound, maxOutputBytes);
  return fzstdDecompress(bytes);
}

/** The frame content size of the first frame, or null when absent. */
function zstdFrameContentSize(bytes: Uint8Array): number | null {
  let s = 0;
  while ((readU32LE(bytes, s) & 0xfffffff0) === 0x184d2a50) s += 8 + readU32LE(bytes, s + 4);
  const fhd = bytes[s + 4]!;
  const singleSegment = (fhd >>> 5) & 1;
  const fcsFlag = fhd >>> 6;
  const at = s + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  switch (fcsFlag) {
    case 0:
      return singleSegment ? bytes[at]! : null;
    case 1:
      return (bytes[at]! | (bytes[at + 1]! << 8)) + 256;
    case 2:
      return readU32LE(bytes, at);
    default:
      return readU32LE(bytes, at) + readU32LE(bytes, at + 4) * 0x1_0000_0000;
  }
}
