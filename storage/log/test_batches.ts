/**
 * Test support: v2 batches built with the protocol layer's `encodeBatch`, as a producer would
 * send them (base offset 0, epoch -1).
 *
 * @module
 */
import { encodeBatch, type Record } from "../../net/protocol/records.ts";

/** Options of {@link makeBatch}. */
export interface MakeBatchOptions {
  /** Number of records (default 1). */
  records?: number;
  /** Bytes per value (default 16). */
  valueBytes?: number;
  /** Base timestamp (default 1_000). */
  timestampMs?: number;
  /** Timestamp step between records (default 1). */
  timestampStepMs?: number;
  /** Keys per record (null = no key); a null entry in the array makes a keyless record. */
  keys?: (string | null)[];
  /** Null values make tombstones when set for a record index. */
  tombstones?: boolean[];
  /** Fill byte of values (default record index). */
  fill?: number;
  compression?: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

const encoder = new TextEncoder();

/**
 * Builds one batch.
 *
 * @example
 * ```ts
 * import { makeBatch } from "./test_batches.ts";
 * const bytes = makeBatch({ records: 3, valueBytes: 100 });
 * ```
 */
export function makeBatch(options: MakeBatchOptions = {}): Uint8Array {
  const count = options.records ?? options.keys?.length ?? 1;
  const step = options.timestampStepMs ?? 1;
  const records: Record[] = [];
  for (let i = 0; i < count; i++) {
    const key = options.keys?.[i];
    const value = options.tombstones?.[i]
      ? null
      : new Uint8Array(options.valueBytes ?? 16).fill(options.fill ?? i);
    records.push({
      offsetDelta: i,
      timestampDelta: i * step,
      key: key === undefined || key === null ? null : encoder.encode(key),
      value,
      headers: [],
    });
  }
  return encodeBatch({
    baseOffset: options.baseOffset ?? 0,
    baseTimestamp: options.timestampMs ?? 1_000,
    records,
    compression: options.compression,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
  });
}

/**
 * Concatenates batches into one produce buffer.
 *
 * @example
 * ```ts
 * import { concatBytes, makeBatch } from "./test_batches.ts";
 * const buffer = concatBytes([makeBatch(), makeBatch()]);
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Base offsets and last offsets of the batches in a record set. */
export function batchOffsets(records: Uint8Array): { base: number; last: number }[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const out: { base: number; last: number }[] = [];
  let pos = 0;
  for (let steps = 0; pos + 27 <= records.length && steps < records.length; steps++) {
    const base = view.getInt32(pos) * 0x1_0000_0000 + view.getUint32(pos + 4);
    out.push({ base, last: base + view.getInt32(pos + 23) });
    pos += 12 + view.getInt32(pos + 8);
  }
  return out;
}
