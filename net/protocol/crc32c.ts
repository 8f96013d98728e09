/**
 * CRC32C (Castagnoli), the checksum of Kafka record batches (magic v2), and CRC32 (IEEE), the
 * checksum of legacy messages (magic v0/v1).
 *
 * Large inputs go through hash-wasm's WASM implementation, small ones through a table in plain
 * JavaScript because the per-call overhead of the WASM hasher dominates below a few hundred bytes.
 *
 * @module
 */
import { createCRC32 } from "hash-wasm";

const CASTAGNOLI_REFLECTED = 0x82f63b78;
const IEEE_REFLECTED = 0xedb88320;
/** Inputs at least this long use the WASM hasher. */
const WASM_THRESHOLD_BYTES = 256;

function makeTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const castagnoliTable = makeTable(CASTAGNOLI_REFLECTED);
const ieeeTable = makeTable(IEEE_REFLECTED);
const castagnoliHasher = await createCRC32(CASTAGNOLI_REFLECTED);
const ieeeHasher = await createCRC32(IEEE_REFLECTED);

function tableCrc(table: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
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
