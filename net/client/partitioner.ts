/**
 * Kafka's default partitioner for keyed records: `toPositive(murmur2(keyBytes)) % numPartitions`
 * (Utils.murmur2 / BuiltInPartitioner.partitionForKey), so a key lands on the same partition as
 * it would with the Java client.
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's 32-bit murmur2 of `data` as a signed int32 (Utils.murmur2).
 *
 * @example
 * ```ts
 * import { murmur2 } from "./partitioner.ts";
 * murmur2(new TextEncoder().encode("21")); // -973932308
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length % 4) {
    case 3:
      h ^= data[whole + 2]! << 16;
    // falls through
    case 2:
      h ^= data[whole + 1]! << 8;
    // falls through
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key.
 *
 * @example
 * ```ts
 * import { partitionForKey } from "./partitioner.ts";
 * partitionForKey(new TextEncoder().encode("user-1"), 6); // a number in 0..5
 * ```
 */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
