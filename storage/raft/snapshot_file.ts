/**
 * KRaft snapshot files of `__cluster_metadata-0` (KIP-630), in Kafka's format and naming:
 * `<20-digit end offset>-<10-digit epoch>.checkpoint` beside the log segments, holding record
 * batches of the snapshot's epoch from offset 0 on: a control batch opening with the
 * SnapshotHeader (then KRaftVersion and Voters records for a kraft.version above 0), batches of
 * metadata records (the same payloads as log entries), and a control batch with the
 * SnapshotFooter. Files are written as `.checkpoint.part`, fsynced, renamed and the directory
 * fsynced, so a crash leaves either no snapshot or a whole one.
 *
 * @module
 */

import { join } from "node:path";
import { strict as assert } from "node:assert";
import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  encodeBatch,
  encodeControlKey,
  type Record as BatchRecord,
} from "../../net/protocol/records.ts";
import { batchesIn } from "../../net/protocol/record_batch.ts";
import {
  createSnapshotHeaderRecord,
  readSnapshotHeaderRecord,
  writeSnapshotHeaderRecord,
} from "../../net/protocol/generated/snapshot_header_record.ts";
import {
  createSnapshotFooterRecord,
  writeSnapshotFooterRecord,
} from "../../net/protocol/generated/snapshot_footer_record.ts";
import {
  createKRaftVersionRecord,
  writeKRaftVersionRecord,
} from "../../net/protocol/generated/k_raft_version_record.ts";
import {
  createEndpoint,
  createKRaftVersionFeature,
  createVoter,
  createVotersRecord,
  readVotersRecord,
  type VotersRecord,
  writeVotersRecord,
} from "../../net/protocol/generated/voters_record.ts";
import type { OffsetAndEpoch, Voter } from "../../core/raft/types.ts";
import { removeIfExists, syncDir } from "../fs.ts";

/** Suffix of a complete snapshot file. */
export const SNAPSHOT_SUFFIX = ".checkpoint";
/** Suffix of a snapshot being written or fetched (`Snapshots.PARTIAL_SUFFIX`). */
export const PARTIAL_SNAPSHOT_SUFFIX = ".checkpoint.part";
/** Suffix of a snapshot scheduled for deletion (`Snapshots.DELETE_SUFFIX`). */
export const DELETED_SNAPSHOT_SUFFIX = ".checkpoint.deleted";

/** Records per data batch of a snapshot. */
const RECORDS_PER_BATCH_MAX = 1024;
/** Bound on the bytes of one data batch of a snapshot. */
const BATCH_BYTES_MAX = 1024 * 1024;

const NAME_PATTERN = /^(\d{20})-(\d{10})(\.checkpoint(?:\.part|\.deleted)?)$/;

/**
 * The file name of a snapshot (`Snapshots.filenameFromSnapshotId` plus suffix).
 *
 * @example
 * ```ts
 * import { snapshotFileName } from "./snapshot_file.ts";
 * snapshotFileName({ offset: 42, epoch: 3 }); // "00000000000000000042-0000000003.checkpoint"
 * ```
 */
export function snapshotFileName(id: OffsetAndEpoch, suffix = SNAPSHOT_SUFFIX): string {
  assert(Number.isSafeInteger(id.offset) && id.offset >= 0, `Bad snapshot offset ${id.offset}`);
  assert(Number.isSafeInteger(id.epoch) && id.epoch >= 0, `Bad snapshot epoch ${id.epoch}`);
  return `${String(id.offset).padStart(20, "0")}-${String(id.epoch).padStart(10, "0")}${suffix}`;
}

/** What a file name in the partition directory says about a snapshot, or null if it is none. */
export interface SnapshotPath {
  id: OffsetAndEpoch;
  kind: "complete" | "partial" | "deleted";
}

/**
 * Parses a snapshot file name (`Snapshots.parse`).
 *
 * @example
 * ```ts
 * import { parseSnapshotFileName } from "./snapshot_file.ts";
 * parseSnapshotFileName("00000000000000000042-0000000003.checkpoint.part");
 * // { id: { offset: 42, epoch: 3 }, kind: "partial" }
 * ```
 */
export function parseSnapshotFileName(name: string): SnapshotPath | null {
  const match = NAME_PATTERN.exec(name);
  if (!match) return null;
  const id = { offset: Number(match[1]), epoch: Number(match[2]) };
  if (!Number.isSafeInteger(id.offset)) return null;
  const kind = match[3] === SNAPSHOT_SUFFIX
    ? "complete"
    : match[3] === PARTIAL_SNAPSHOT_SUFFIX
    ? "partial"
    : "deleted";
  return { id, kind };
}

/**
 * A KIP-853 `VotersRecord` for these voters, sorted by id, each supporting kraft.version 0 to 1.
 *
 * @example
 * ```ts
 * import { votersRecordOf, votersOf } from "./snapshot_file.ts";
 * const voters = [{ id: 1, directoryId: "b7tCfPnxRpOmQVrWcIAyJw", endpoints: [{ name: "CONTROLLER", host: "localhost", port: 9093 }] }];
 * votersOf(votersRecordOf(voters)); // the same voters
 * ```
 */
export function votersRecordOf(voters: readonly Voter[]): VotersRecord {
  return createVotersRecord({
    version: 0,
    voters: [...voters].sort((a, b) => a.id - b.id).map((v) =>
      createVoter({
        voterId: v.id,
        voterDirectoryId: v.directoryId,
        endpoints: v.endpoints.map((e) => createEndpoint({ ...e })),
        kRaftVersionFeature: createKRaftVersionFeature({
          minSupportedVersion: 0,
          maxSupportedVersion: 1,
        }),
      })
    ),
  });
}

/** The voters of a KIP-853 `VotersRecord`. */
export function votersOf(record: VotersRecord): Voter[] {
  return record.voters.map((v) => ({
    id: v.voterId,
    directoryId: v.voterDirectoryId,
    endpoints: v.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
  }));
}

const EMPTY_PAYLOAD = new Uint8Array(0);

/** The contents of a snapshot besides its id. */
export interface SnapshotContents {
  /**
   * Serialized metadata records, as raft entry payloads. Decoded snapshots hand out views into
   * the file's bytes (no copy per record): treat them as read-only.
   */
  payloads: readonly Uint8Array[];
  /** Append time of the last log record the snapshot contains (SnapshotHeader). */
  lastContainedLogTimestampMs: number;
  /** KIP-853 voter set, written with KRaftVersion 1; absent for a static quorum (kraft.version 0). */
  voters?: readonly Voter[];
}

/**
 * A snapshot's contents whose payloads are produced lazily (e.g. encoded from an immutable image
 * as they are written), so writing one never holds all its payloads at once.
 */
export interface SnapshotSource {
  payloads: Iterable<Uint8Array>;
  lastContainedLogTimestampMs: number;
  voters?: readonly Voter[];
}

function controlRecord(offsetDelta: number, type: number, write: (w: Writer) => void): BatchRecord {
  const w = new Writer(64);
  write(w);
  return {
    offsetDelta,
    timestampDelta: 0,
    key: encodeControlKey(type),
    value: w.finish(),
    headers: [],
  };
}

function headerBatch(id: OffsetAndEpoch, contents: SnapshotSource, nowMs: number): Uint8Array {
  const records = [
    controlRecord(0, ControlRecordType.SNAPSHOT_HEADER, (w) =>
      writeSnapshotHeaderRecord(
        w,
        0,
        createSnapshotHeaderRecord({
          version: 0,
          lastContainedLogTimestamp: BigInt(contents.lastContainedLogTimestampMs),
        }),
      )),
  ];
  if (contents.voters !== undefined) {
    records.push(
      controlRecord(
        1,
        ControlRecordType.KRAFT_VERSION,
        (w) =>
          writeKRaftVersionRecord(w, 0, createKRaftVersionRecord({ version: 0, kRaftVersion: 1 })),
      ),
    );
    const record = votersRecordOf(contents.voters);
    records.push(
      controlRecord(2, ControlRecordType.KRAFT_VOTERS, (w) => writeVotersRecord(w, 0, record)),
    );
  }
  return encodeBatch({
    baseOffset: 0,
    records,
    baseTimestamp: nowMs,
    partitionLeaderEpoch: id.epoch,
    control: true,
  });
}

/**
 * Encodes a snapshot as Kafka's record batches (RecordsSnapshotWriter's layout): header control
 * batch, data batches, footer control batch; offsets count from 0, every batch carries the
 * snapshot's epoch.
 *
 * @example
 * ```ts
 * import { encodeSnapshot } from "./snapshot_file.ts";
 * const batches = encodeSnapshot({ offset: 10, epoch: 2 }, { payloads: [], lastContainedLogTimestampMs: 0 }, 0);
 * batches.length; // 2: header and footer
 * ```
 */
export function encodeSnapshot(
  id: OffsetAndEpoch,
  contents: SnapshotSource,
  nowMs: number,
): Uint8Array[] {
  return [...snapshotBatches(id, contents, nowMs)];
}

/**
 * The batches of {@link encodeSnapshot}, one at a time: each data batch is encoded only when
 * asked for, pulling at most {@link RECORDS_PER_BATCH_MAX} payloads from `contents.payloads`.
 *
 * @example
 * ```ts
 * import { snapshotBatches } from "./snapshot_file.ts";
 * const batches = [...snapshotBatches({ offset: 10, epoch: 2 }, { payloads: [], lastContainedLogTimestampMs: 0 }, 0)];
 * batches.length; // 2: header and footer
 * ```
 */
export function* snapshotBatches(
  id: OffsetAndEpoch,
  contents: SnapshotSource,
  nowMs: number,
): Generator<Uint8Array> {
  yield headerBatch(id, contents, nowMs);
  let offset = contents.voters !== undefined ? 3 : 1;
  let records: BatchRecord[] = [];
  let bytes = 0;
  const take = () => {
    const batch = encodeBatch({
      baseOffset: offset,
      records,
      baseTimestamp: nowMs,
      partitionLeaderEpoch: id.epoch,
    });
    offset += records.length;
    records = [];
    bytes = 0;
    return batch;
  };
  for (const payload of contents.payloads) {
    if (
      records.length > 0 &&
      (records.length >= RECORDS_PER_BATCH_MAX || bytes + payload.length > BATCH_BYTES_MAX)
    ) {
      yield take();
    }
    records.push({
      offsetDelta: records.length,
      timestampDelta: 0,
      key: null,
      value: payload,
      headers: [],
    });
    bytes += payload.length;
  }
  if (records.length > 0) yield take();
  yield encodeBatch({
    baseOffset: offset,
    records: [
      controlRecord(
        0,
        ControlRecordType.SNAPSHOT_FOOTER,
        (w) => writeSnapshotFooterRecord(w, 0, createSnapshotFooterRecord({ version: 0 })),
      ),
    ],
    baseTimestamp: nowMs,
    partitionLeaderEpoch: id.epoch,
    control: true,
  });
}

/**
 * Decodes and checks a whole snapshot file: every batch's CRC, a SnapshotHeader first and a
 * SnapshotFooter last. Throws an `Error` naming what is wrong.
 *
 * @example
 * ```ts
 * import { decodeSnapshot, encodeSnapshot } from "./snapshot_file.ts";
 * const id = { offset: 10, epoch: 2 };
 * const parts = encodeSnapshot(id, { payloads: [new Uint8Array([1])], lastContainedLogTimestampMs: 5 }, 0);
 * const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
 * let at = 0;
 * for (const p of parts) { bytes.set(p, at); at += p.length; }
 * decodeSnapshot(bytes).payloads.length; // 1
 * ```
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotContents {
  const payloads: Uint8Array[] = [];
  let header: number | null = null;
  let footer = false;
  let voters: Voter[] | undefined;
  let consumed = 0;
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    if (footer) throw new Error(`Cannot read snapshot: records follow the SnapshotFooter`);
    const { header: batch, records } = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
    consumed = pos + sizeBytes;
    const control = (batch.attributes & 0x20) !== 0;
    for (const record of records) {
      if (!control) {
        if (header === null) {
          throw new Error(`Cannot read snapshot: data before the SnapshotHeader`);
        }
        payloads.push(record.value ?? EMPTY_PAYLOAD);
        continue;
      }
      const { type } = decodeControlKey(record.key);
      const value = new Reader(record.value ?? new Uint8Array(0));
      if (type === ControlRecordType.SNAPSHOT_HEADER) {
        if (header !== null) throw new Error(`Cannot read snapshot: two SnapshotHeaders`);
        header = Number(readSnapshotHeaderRecord(value, 0).lastContainedLogTimestamp);
      } else if (type === ControlRecordType.SNAPSHOT_FOOTER) {
        footer = true;
      } else if (type === ControlRecordType.KRAFT_VOTERS) {
        voters = votersOf(readVotersRecord(value, 0));
      }
    }
  }
  if (header === null) throw new Error(`Cannot read snapshot: it has no SnapshotHeader`);
  if (!footer || consumed !== bytes.length) {
    throw new Error(`Cannot read snapshot: it ends without a SnapshotFooter (truncated?)`);
  }
  return voters === undefined
    ? { payloads, lastContainedLogTimestampMs: header }
    : { payloads, lastContainedLogTimestampMs: header, voters };
}

/**
 * A snapshot file being written, chunk by chunk, as `.checkpoint.part`; `freeze()` makes it the
 * durable `.checkpoint` (fsync, rename, fsync the directory), `abort()` removes it.
 *
 * @example
 * ```ts ignore
 * const writer = await SnapshotFileWriter.create(dir, { offset: 10, epoch: 2 });
 * await writer.append(chunk);
 * await writer.freeze();
 * ```
 */
export class SnapshotFileWriter {
  readonly id: OffsetAndEpoch;
  readonly #dir: string;
  readonly #file: Deno.FsFile;
  #sizeBytes = 0;
  #closed = false;

  private constructor(dir: string, id: OffsetAndEpoch, file: Deno.FsFile) {
    this.#dir = dir;
    this.id = id;
    this.#file = file;
  }

  static async create(dir: string, id: OffsetAndEpoch): Promise<SnapshotFileWriter> {
    const file = await Deno.open(join(dir, snapshotFileName(id, PARTIAL_SNAPSHOT_SUFFIX)), {
      write: true,
      create: true,
      truncate: true,
    });
    return new SnapshotFileWriter(dir, id, file);
  }

  /** Bytes appended so far. */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  async append(bytes: Uint8Array): Promise<void> {
    assert(!this.#closed, "Cannot append to a closed snapshot writer");
    let written = 0;
    while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    this.#sizeBytes += bytes.length;
  }

  /** fsyncs the file, renames it to `.checkpoint` and fsyncs the directory. */
  async freeze(): Promise<void> {
    assert(!this.#closed, "Cannot freeze a closed snapshot writer");
    this.#closed = true;
    try {
      await this.#file.sync();
    } finally {
      this.#file.close();
    }
    await Deno.rename(
      join(this.#dir, snapshotFileName(this.id, PARTIAL_SNAPSHOT_SUFFIX)),
      join(this.#dir, snapshotFileName(this.id)),
    );
    await syncDir(this.#dir);
  }

  /** Closes and removes the partial file. */
  async abort(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#file.close();
    }
    await removeIfExists(join(this.#dir, snapshotFileName(this.id, PARTIAL_SNAPSHOT_SUFFIX)));
  }
}

/**
 * Writes a whole snapshot durably: `.checkpoint.part`, fsync, rename, fsync the directory.
 *
 * @example
 * ```ts ignore
 * await writeSnapshotFile(partitionDir, { offset: 10, epoch: 2 }, encodeSnapshot(id, contents, Date.now()));
 * ```
 */
export async function writeSnapshotFile(
  dir: string,
  id: OffsetAndEpoch,
  batches: readonly Uint8Array[],
): Promise<number> {
  const writer = await SnapshotFileWriter.create(dir, id);
  try {
    for (const batch of batches) await writer.append(batch);
    const sizeBytes = writer.sizeBytes;
    await writer.freeze();
    return sizeBytes;
  } catch (error) {
    await writer.abort().catch(() => {});
    throw error;
  }
}

/**
 * Writes a snapshot durably while encoding it: each batch of {@link snapshotBatches} is written
 * before the next is encoded, so the event loop runs between batches (each write is awaited) and
 * memory holds one batch, not the whole snapshot. Resolves with the file size and the number of
 * data records.
 *
 * @example
 * ```ts ignore
 * await writeSnapshotStreaming(partitionDir, id, { payloads: lazyPayloads(image), lastContainedLogTimestampMs }, Date.now());
 * ```
 */
export async function writeSnapshotStreaming(
  dir: string,
  id: OffsetAndEpoch,
  contents: SnapshotSource,
  nowMs: number,
): Promise<{ sizeBytes: number; records: number }> {
  let records = 0;
  const counted: SnapshotSource = {
    ...contents,
    payloads: (function* () {
      for (const payload of contents.payloads) {
        records++;
        yield payload;
      }
    })(),
  };
  const writer = await SnapshotFileWriter.create(dir, id);
  try {
    for (const batch of snapshotBatches(id, counted, nowMs)) await writer.append(batch);
    const sizeBytes = writer.sizeBytes;
    await writer.freeze();
    return { sizeBytes, records };
  } catch (error) {
    await writer.abort().catch(() => {});
    throw error;
  }
}

/** Reads a complete snapshot file and decodes it. */
export async function readSnapshotFile(dir: string, id: OffsetAndEpoch): Promise<SnapshotContents> {
  const bytes = await Deno.readFile(join(dir, snapshotFileName(id)));
  return decodeSnapshot(bytes);
}

/** One chunk of a snapshot file (FetchSnapshot's `Position`/`Size`/`UnalignedRecords`). */
export interface SnapshotChunk {
  sizeBytes: number;
  position: number;
  bytes: Uint8Array;
}

/**
 * Reads up to `maxBytes` of a complete snapshot file from `position`, or null when the file does
 * not exist. A position at or past the end returns an empty chunk.
 */
export async function readSnapshotChunk(
  dir: string,
  id: OffsetAndEpoch,
  position: number,
  maxBytes: number,
): Promise<SnapshotChunk | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(dir, snapshotFileName(id)), { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const length = Math.max(0, Math.min(maxBytes, size - position));
    const bytes = new Uint8Array(length);
    await file.seek(position, Deno.SeekMode.Start);
    let read = 0;
    while (read < length) {
      const n = await file.read(bytes.subarray(read));
      if (n === null || n === 0) break;
      read += n;
    }
    return { sizeBytes: size, position, bytes: bytes.subarray(0, read) };
  } finally {
    file.close();
  }
}

/** Complete, partial and deleted snapshot files in a partition directory. */
export async function listSnapshotFiles(dir: string): Promise<SnapshotPath[]> {
  const out: SnapshotPath[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const parsed = parseSnapshotFileName(entry.name);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** Removes one snapshot file of the given kind, if present. */
export async function deleteSnapshotFile(
  dir: string,
  id: OffsetAndEpoch,
  kind: SnapshotPath["kind"] = "complete",
): Promise<void> {
  const suffix = kind === "complete"
    ? SNAPSHOT_SUFFIX
    : kind === "partial"
    ? PARTIAL_SNAPSHOT_SUFFIX
    : DELETED_SNAPSHOT_SUFFIX;
  await removeIfExists(join(dir, snapshotFileName(id, suffix)));
}
