/**
 * Producer state snapshots in Kafka's `.snapshot` format (`ProducerStateManager.writeSnapshot`):
 * `<offset>.snapshot` beside the segments holds the producer state of every record below
 * `offset`, so a restart replays only the batches after it instead of whole logs.
 *
 * Layout, big-endian (version 1, the only one Kafka writes): version int16, crc uint32 (CRC32C of
 * everything after it), then an int32 count of entries, each 46 bytes: producer_id int64, epoch
 * int16, last_sequence int32, last_offset int64 (-1 without a batch), offset_delta int32 (last
 * batch's last minus first offset), timestamp int64, coordinator_epoch int32,
 * current_txn_first_offset int64 (-1 when no transaction is open).
 *
 * @module
 */
import * as path from "node:path";
import { crc32c } from "../../net/protocol/crc32c.ts";
import { readInt64Number, writeInt64Number } from "../../net/protocol/record_batch.ts";
import { removeIfExists, writeFileAtomic } from "../fs.ts";
import { offsetFileStem } from "./log_segment.ts";

/** File suffix of producer snapshots. */
export const PRODUCER_SNAPSHOT_SUFFIX = ".snapshot";
const SNAPSHOT_VERSION = 1;
const ENTRIES_OFFSET = 6;
const ENTRY_BYTES = 46;
const SNAPSHOT_NAME = /^(\d{20})\.snapshot$/;

/** One producer as a snapshot stores it (Kafka's `ProducerStateEntry` with its last batch). */
export interface ProducerSnapshotEntry {
  producerId: number;
  producerEpoch: number;
  /** Last sequence of the last batch, -1 without one. */
  lastSequence: number;
  /** Last offset of the last batch, -1 without one. */
  lastOffset: number;
  /** Last minus first offset of the last batch. */
  offsetDelta: number;
  timestampMs: number;
  coordinatorEpoch: number;
  /** First offset of the open transaction, -1 when none. */
  currentTxnFirstOffset: number;
}

/**
 * Encodes a snapshot in Kafka's layout.
 *
 * @example
 * ```ts
 * import { encodeProducerSnapshot } from "./producer_snapshot_file.ts";
 * encodeProducerSnapshot([]).length; // 10
 * ```
 */
export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Uint8Array {
  const out = new Uint8Array(ENTRIES_OFFSET + 4 + entries.length * ENTRY_BYTES);
  const v = new DataView(out.buffer);
  v.setInt16(0, SNAPSHOT_VERSION);
  v.setInt32(ENTRIES_OFFSET, entries.length);
  entries.forEach((e, i) => {
    const at = ENTRIES_OFFSET + 4 + i * ENTRY_BYTES;
    writeInt64Number(v, at, e.producerId);
    v.setInt16(at + 8, e.producerEpoch);
    v.setInt32(at + 10, e.lastSequence);
    writeInt64Number(v, at + 14, e.lastOffset);
    v.setInt32(at + 22, e.offsetDelta);
    writeInt64Number(v, at + 26, e.timestampMs);
    v.setInt32(at + 34, e.coordinatorEpoch);
    writeInt64Number(v, at + 38, e.currentTxnFirstOffset);
  });
  v.setUint32(2, crc32c(out.subarray(ENTRIES_OFFSET)));
  return out;
}

/**
 * Decodes a snapshot; throws RangeError for another version, a CRC mismatch or a length that does
 * not match its entry count (Kafka's `CorruptSnapshotException` cases).
 *
 * @example
 * ```ts
 * import { decodeProducerSnapshot, encodeProducerSnapshot } from "./producer_snapshot_file.ts";
 * decodeProducerSnapshot(encodeProducerSnapshot([])); // []
 * ```
 */
export function decodeProducerSnapshot(bytes: Uint8Array): ProducerSnapshotEntry[] {
  if (bytes.length < ENTRIES_OFFSET + 4) {
    throw new RangeError(`Producer snapshot has ${bytes.length} bytes, at least 10 needed.`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getInt16(0);
  if (version !== SNAPSHOT_VERSION) {
    throw new RangeError(`Producer snapshot has unknown version ${version}.`);
  }
  const stored = v.getUint32(2);
  const computed = crc32c(bytes.subarray(ENTRIES_OFFSET));
  if (stored !== computed) {
    throw new RangeError(
      `Producer snapshot is corrupt: stored crc ${stored}, computed ${computed}.`,
    );
  }
  const count = v.getInt32(ENTRIES_OFFSET);
  if (count < 0 || bytes.length !== ENTRIES_OFFSET + 4 + count * ENTRY_BYTES) {
    throw new RangeError(
      `Producer snapshot of ${bytes.length} bytes cannot hold ${count} entries.`,
    );
  }
  const entries: ProducerSnapshotEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = ENTRIES_OFFSET + 4 + i * ENTRY_BYTES;
    entries.push({
      producerId: readInt64Number(v, at, "producer_id"),
      producerEpoch: v.getInt16(at + 8),
      lastSequence: v.getInt32(at + 10),
      lastOffset: readInt64Number(v, at + 14, "last_offset"),
      offsetDelta: v.getInt32(at + 22),
      timestampMs: readInt64Number(v, at + 26, "timestamp"),
      coordinatorEpoch: v.getInt32(at + 34),
      currentTxnFirstOffset: readInt64Number(v, at + 38, "current_txn_first_offset"),
    });
  }
  return entries;
}

/**
 * The path of the snapshot at `offset`.
 *
 * @example
 * ```ts
 * import { producerSnapshotPath } from "./producer_snapshot_file.ts";
 * producerSnapshotPath("/data/t-0", 42); // "/data/t-0/00000000000000000042.snapshot"
 * ```
 */
export function producerSnapshotPath(dir: string, offset: number): string {
  return path.join(dir, `${offsetFileStem(offset)}${PRODUCER_SNAPSHOT_SUFFIX}`);
}

/**
 * The offsets of the snapshots in `dir`, ascending.
 *
 * @example
 * ```ts ignore
 * await listProducerSnapshots("/data/t-0"); // [0, 1200]
 * ```
 */
export async function listProducerSnapshots(dir: string): Promise<number[]> {
  const offsets: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = entry.isFile ? SNAPSHOT_NAME.exec(entry.name) : null;
    if (m) offsets.push(Number(m[1]));
  }
  return offsets.sort((a, b) => a - b);
}

/**
 * Writes the snapshot at `offset` durably (temp file, fsync, rename) and deletes every other
 * snapshot but the newest `keep` (the one written counts).
 *
 * @example
 * ```ts ignore
 * await writeProducerSnapshot("/data/t-0", 1200, entries, { keep: 2 });
 * ```
 */
export async function writeProducerSnapshot(
  dir: string,
  offset: number,
  entries: readonly ProducerSnapshotEntry[],
  options: { keep: number },
): Promise<void> {
  await writeFileAtomic(producerSnapshotPath(dir, offset), encodeProducerSnapshot(entries));
  const others = await listProducerSnapshots(dir);
  const below = others.filter((o) => o < offset);
  const stale = [
    ...others.filter((o) => o > offset),
    ...below.slice(0, Math.max(0, below.length - (options.keep - 1))),
  ];
  for (const o of stale) await removeIfExists(producerSnapshotPath(dir, o));
}

/**
 * Deletes the snapshots above `offset` (the log was truncated to it: they describe records that
 * are gone); returns how many.
 *
 * @example
 * ```ts ignore
 * await deleteProducerSnapshotsAbove("/data/t-0", 900);
 * ```
 */
export async function deleteProducerSnapshotsAbove(dir: string, offset: number): Promise<number> {
  let removed = 0;
  for (const o of await listProducerSnapshots(dir)) {
    if (o > offset && await removeIfExists(producerSnapshotPath(dir, o))) removed++;
  }
  return removed;
}
