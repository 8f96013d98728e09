/**
 * Kafka UUIDs as 22-character base64url strings (Kafka's `Uuid.toString()`), and their 16-byte
 * wire form.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Length in bytes of a UUID on the wire. */
export const UUID_BYTES = 16;

/** The zero UUID (`Uuid.ZERO_UUID`), the default of every uuid field. */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

/** The topic id of `__cluster_metadata` (`Uuid.METADATA_TOPIC_ID`, i.e. `Uuid.ONE_UUID`). */
export const METADATA_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/**
 * Encodes 16 bytes starting at `offset` as a 22-character base64url string without padding.
 *
 * @example
 * ```ts
 * import { uuidFromBytes } from "./uuid.ts";
 * uuidFromBytes(new Uint8Array(16)); // "AAAAAAAAAAAAAAAAAAAAAA"
 * ```
 */
export function uuidFromBytes(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + UUID_BYTES > bytes.length) {
    throw new RangeError(
      `Cannot read a uuid at offset ${offset}: the buffer has ${bytes.length} bytes`,
    );
  }
  let out = "";
  let i = offset;
  // 15 bytes -> 20 characters, then the last byte -> 2 characters.
  for (let group = 0; group < 5; group++, i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! +
      ALPHABET[n & 63]!;
  }
  const last = bytes[i]!;
  return out + ALPHABET[last >> 2]! + ALPHABET[(last & 3) << 4]!;
}

/**
 * Decodes a 22-character base64url UUID into `out` at `offset`; returns false when `s` is not a
 * valid UUID string (the caller decides which error to throw).
 *
 * @example
 * ```ts
 * import { uuidIntoBytes } from "./uuid.ts";
 * const out = new Uint8Array(16);
 * uuidIntoBytes("AAAAAAAAAAAAAAAAAAAAAQ", out, 0); // true, out[15] === 1
 * ```
 */
export function uuidIntoBytes(s: string, out: Uint8Array, offset: number): boolean {
  if (s.length !== 22) return false;
  let o = offset;
  let i = 0;
  for (let group = 0; group < 5; group++, i += 4) {
    const a = sextet(s, i), b = sextet(s, i + 1), c = sextet(s, i + 2), d = sextet(s, i + 3);
    if ((a | b | c | d) < 0) return false;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const a = sextet(s, 20), b = sextet(s, 21);
  // The last character carries 2 bits; its low 4 bits must be zero (canonical form).
  if ((a | b) < 0 || (b & 15) !== 0) return false;
  out[o] = (a << 2) | (b >> 4);
  return true;
}

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
}

/**
 * Decodes a 22-character base64url UUID into 16 bytes; throws RangeError when it is not one.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "./uuid.ts";
 * uuidToBytes("AAAAAAAAAAAAAAAAAAAAAA").length; // 16
 * ```
 */
export function uuidToBytes(s: string): Uint8Array {
  const out = new Uint8Array(UUID_BYTES);
  if (!uuidIntoBytes(s, out, 0)) {
    throw new RangeError(
      `Cannot parse uuid ${JSON.stringify(s)}: expected 22 base64url characters`,
    );
  }
  return out;
}

/** True when `s` is a canonical 22-character base64url UUID. */
export function isUuid(s: string): boolean {
  return uuidIntoBytes(s, new Uint8Array(UUID_BYTES), 0);
}

/**
 * A random version-4 UUID, never the zero UUID, the metadata topic id, or one whose string form
 * starts with "-" (as Kafka's `Uuid.randomUuid()`).
 *
 * @example
 * ```ts
 * import { randomUuid } from "./uuid.ts";
 * const topicId = randomUuid(); // e.g. "q1Sh-9_ISia_fV4lGz8fqw"
 * ```
 */
export function randomUuid(): string {
  const bytes = new Uint8Array(UUID_BYTES);
  for (let attempt = 0; attempt < 1000; attempt++) {
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // IETF variant
    const s = uuidFromBytes(bytes);
    if (s !== ZERO_UUID && s !== METADATA_TOPIC_ID && !s.startsWith("-")) return s;
  }
  throw new Error("Cannot generate a random uuid: the random source keeps producing reserved ids");
}
