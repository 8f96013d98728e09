/**
 * CRC32C (Castagnoli), the checksum of Kafka record batches (magic v2), and CRC32 (IEEE), the
 * checksum of legacy messages (magic v0/v1).
 *
 * Large inputs go through hash-wasm's WASM implementation, smaller ones through slicing-by-8 tables
 * in plain JavaScript: the WASM hasher's per-call cost (copying into its memory, init, digest)
 * dominates below about 2 KiB, where one-record batches of 1 KiB records live (measured: 600 MB/s
 * against 400 for the WASM hasher at 1 KiB, 330 against 220 at 100 bytes; the WASM hasher wins from
 * 4 KiB on, 1.2-1.6 GB/s).
 *
 * @module
 */
import { createCRC32 } from "hash-wasm";

const CASTAGNOLI_REFLECTED = 0x82f63b78;
const IEEE_REFLECTED = 0xedb88320;
/** Inputs at least this long use the WASM hasher. */
const WASM_THRESHOLD_BYTES = 2048;

/**
 * Slicing-by-8 tables: table k (at k * 256) maps a byte to its CRC after k more zero bytes, so
 * eight input bytes fold into the CRC with eight lookups and no per-byte dependency chain.
 */
function makeTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = table[(k - 1) * 256 + n]!;
      table[k * 256 + n] = (previous >>> 8) ^ table[previous & 0xff]!;
    }
  }
  return table;
}

const castagnoliTable = makeTable(CASTAGNOLI_REFLECTED);
const ieeeTable = makeTable(IEEE_REFLECTED);
const castagnoliHasher = await createCRC32(CASTAGNOLI_REFLECTED);
const ieeeHasher = await createCRC32(IEEE_REFLECTED);

function tableCrc(t: Uint32Array, b: Uint8Array): number {
  let c = 0xffffffff;
  let i = 0;
  const n = b.length;
  const wholeWords = n - (n & 7);
  for (; i < wholeWords; i += 8) {
    const low = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0;
    c = t[1792 + (low & 0xff)]! ^ t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^ t[1024 + (low >>> 24)]! ^ t[768 + b[i + 4]!]! ^
      t[512 + b[i + 5]!]! ^ t[256 + b[i + 6]!]! ^ t[b[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function wasmCrc(hasher: Awaited<ReturnType<typeof createCRC32>>, bytes: Uint8Array): number {
  hasher.init();
  hasher.update(bytes);
  const d = hasher.digest("binary");
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}

/**
 * Returns the CRC32C (Castagnoli) of `bytes` as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array): number {
  if (bytes.length < WASM_THRESHOLD_BYTES) return tableCrc(castagnoliTable, bytes);
  return wasmCrc(castagnoliHasher, bytes);
}

/**
 * Returns the CRC32 (IEEE 802.3, as `java.util.zip.CRC32`) of `bytes` as an unsigned number.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  if (bytes.length < WASM_THRESHOLD_BYTES) return tableCrc(ieeeTable, bytes);
  return wasmCrc(ieeeHasher, bytes);
}
