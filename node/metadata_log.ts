/**
 * `__cluster_metadata-0` on disk, seen by the raft core as a synchronous {@link RaftLogView}.
 *
 * The log is stored in Kafka's format (v2 record batches in a `FileLog`, one record per raft
 * entry, control batches for LeaderChange and Voters records), so Kafka's own `dump-log` could
 * read it. The entries since the log start are also kept in memory: the raft core reads them
 * synchronously, and the metadata log stays small between snapshots.
 *
 * Snapshots (KIP-630) are `.checkpoint` files beside the segments (see `storage/raft/snapshot_file.ts`). The
 * log the raft core sees starts at the latest snapshot's end offset: entries before it leave
 * memory as soon as the snapshot is durable. On disk, whole segments before it go once
 * `metadata.max.retention.bytes` or `metadata.max.retention.ms` is exceeded, and older snapshot
 * files go at once (nothing serves them).
 *
 * @module
 */

import { join } from "node:path";
import { FileLog } from "../storage/log/file_log.ts";
import { logConfig } from "../storage/log/log_config.ts";
import type { RaftLogView, ReadLimits } from "../core/raft/log.ts";
import {
  compareOffsetAndEpoch,
  entrySizeBytes,
  type LogEntry,
  type OffsetAndEpoch,
} from "../core/raft/types.ts";
import {
  deleteSnapshotFile,
  listSnapshotFiles,
  readSnapshotChunk,
  readSnapshotFile,
  type SnapshotChunk,
  type SnapshotContents,
} from "../storage/raft/snapshot_file.ts";
import { decodeEntries, encodeEntries } from "../storage/raft/entries.ts";
import { METADATA_TOPIC_ID } from "../net/protocol/uuid.ts";
import type { Logger } from "../core/log.ts";

/** The directory name of the metadata partition inside `metadata.log.dir`. */
export const METADATA_PARTITION_DIR = "__cluster_metadata-0";

/** Reads bounded at this many bytes per storage read while loading. */
const LOAD_READ_BYTES = 8 * 1024 * 1024;

/** How the metadata partition is kept on disk. */
export interface MetadataLogOptions {
  /** Segment size of `__cluster_metadata-0` (default 64 MiB). */
  segmentBytes?: number;
  /** `metadata.max.retention.bytes`: log before the latest snapshot kept up to this size (-1: all). */
  retentionBytes?: number;
  /** `metadata.max.retention.ms`: log before the latest snapshot kept this long (-1: forever). */
  retentionMs?: number;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The metadata partition: durable in a `FileLog`, readable synchronously from memory.
 *
 * @example
 * ```ts ignore
 * const log = await MetadataLog.open("/tmp/kraft-combined-logs", logger);
 * await log.append([{ offset: log.endOffset(), epoch: 1, payload }], Date.now());
 * ```
 */
export class MetadataLog implements RaftLogView {
  readonly #file: FileLog;
  readonly #logger: Logger;
  /** Entries from `#startOffset` on, by offset - #startOffset. */
  #entries: LogEntry[];
  #startOffset: number;
  /** The latest snapshot (never the bootstrap snapshot at offset 0); the log starts at its end. */
  #snapshotId: OffsetAndEpoch | null;

  private constructor(
    file: FileLog,
    entries: LogEntry[],
    snapshotId: OffsetAndEpoch | null,
    logger: Logger,
  ) {
    this.#file = file;
    this.#entries = entries;
    this.#snapshotId = snapshotId;
    this.#startOffset = snapshotId?.offset ?? entries[0]?.offset ?? file.logStartOffset;
    this.#logger = logger;
  }

  /**
   * Opens (recovering if needed) `<metadataLogDir>/__cluster_metadata-0`: removes partial and
   * superseded snapshots, truncates the log fully to the latest snapshot when that is past its end
   * (a crash after a snapshot was fetched), and loads the entries after the snapshot.
   */
  static async open(
    metadataLogDir: string,
    logger: Logger,
    options: MetadataLogOptions = {},
  ): Promise<MetadataLog> {
    const file = await FileLog.open({
      dir: join(metadataLogDir, METADATA_PARTITION_DIR),
      config: logConfig({
        segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
        retentionMs: options.retentionMs ?? -1,
        retentionBytes: options.retentionBytes ?? -1,
      }),
      topicId: METADATA_TOPIC_ID,
      warn: (line) => logger.warn(`__cluster_metadata-0: ${line}`),
    });
    const snapshotId = await recoverSnapshots(file.dir);
    if (snapshotId !== null) {
      const end = { offset: file.logEndOffset, epoch: file.latestEpoch() ?? 0 };
      if (compareOffsetAndEpoch(snapshotId, end) > 0) {
        logger.info(
          `__cluster_metadata-0: snapshot ${snapshotId.offset}-${snapshotId.epoch} is past the log end ${end.offset}; starting the log at it`,
        );
        await file.truncateFullyAndStartAt(snapshotId.offset);
      } else if (file.logStartOffset > snapshotId.offset) {
        throw new Error(
          `Cannot open __cluster_metadata-0 in ${metadataLogDir}: the log starts at ${file.logStartOffset}, after the latest snapshot ${snapshotId.offset}`,
        );
      }
    }
    const entries: LogEntry[] = [];
    let offset = snapshotId?.offset ?? file.logStartOffset;
    // Bounded: each read returns at least one batch and advances `offset`.
    while (offset < file.logEndOffset) {
      const { records } = await file.read(offset, {
        maxBytes: LOAD_READ_BYTES,
        minOneMessage: true,
      });
      const decoded = decodeEntries(records);
      if (decoded.length === 0) break;
      for (const entry of decoded) {
        if (entry.offset >= offset) entries.push(entry);
      }
      offset = entries.at(-1)!.offset + 1;
    }
    logger.info(
      `Loaded __cluster_metadata-0: ${
        snapshotId ? `snapshot ${snapshotId.offset}-${snapshotId.epoch}, ` : ""
      }${entries.length} records, end offset ${file.logEndOffset}`,
    );
    return new MetadataLog(file, entries, snapshotId, logger);
  }

  /** The partition directory (`<metadata.log.dir>/__cluster_metadata-0`). */
  get dir(): string {
    return this.#file.dir;
  }

  /** Offset of the first entry kept on disk (may be before the raft view's start). */
  get fileStartOffset(): number {
    return this.#file.logStartOffset;
  }

  /** Bytes of the log segments on disk. */
  get sizeBytes(): number {
    return this.#file.sizeBytes;
  }

  /** Reads the latest snapshot's contents (at startup, to load the image), or null. */
  async readLatestSnapshot(): Promise<SnapshotContents | null> {
    const id = this.#snapshotId;
    return id === null ? null : await readSnapshotFile(this.#file.dir, id);
  }

  /**
   * KIP-853: the bootstrap snapshot (`00000000000000000000-0000000000.checkpoint`) that
   * `storage format --standalone/--initial-controllers` wrote, whose VotersRecord is a dynamic
   * quorum's first voter set; null when there is none. It never counts as the latest snapshot.
   */
  async readBootstrapSnapshot(): Promise<SnapshotContents | null> {
    try {
      return await readSnapshotFile(this.#file.dir, { offset: 0, epoch: 0 });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /** A chunk of the latest snapshot's file, for FetchSnapshot; null for any other snapshot id. */
  async readSnapshotChunk(
    id: OffsetAndEpoch,
    position: number,
    maxBytes: number,
  ): Promise<SnapshotChunk | null> {
    const latest = this.#snapshotId;
    if (latest === null || compareOffsetAndEpoch(latest, id) !== 0) return null;
    return await readSnapshotChunk(this.#file.dir, id, position, maxBytes);
  }

  /**
   * A snapshot of applied (hence committed) state was written durably: the raft view now starts
   * at its end offset, older snapshots are deleted, and log segments before it go per retention.
   * Returns false (and deletes the file) when a newer snapshot is already in place.
   */
  async adoptSnapshot(id: OffsetAndEpoch, nowMs: number): Promise<boolean> {
    const latest = this.#snapshotId;
    if (latest !== null && compareOffsetAndEpoch(id, latest) <= 0) {
      if (compareOffsetAndEpoch(id, latest) < 0) await deleteSnapshotFile(this.#file.dir, id);
      return false;
    }
    if (id.offset < this.#startOffset || id.offset > this.endOffset()) {
      throw new Error(
        `Cannot adopt snapshot ${id.offset}-${id.epoch}: the log holds ${this.#startOffset} to ${this.endOffset()}`,
      );
    }
    this.#entries = this.#entries.slice(id.offset - this.#startOffset);
    this.#startOffset = id.offset;
    this.#snapshotId = { ...id };
    await this.#deleteSnapshotsBefore(id);
    await this.cleanLog(nowMs);
    return true;
  }

  /**
   * Installs a snapshot fetched from the leader (its `.checkpoint` file is already durable):
   * the log is truncated fully and starts, empty, at the snapshot's end offset.
   */
  async installSnapshot(id: OffsetAndEpoch): Promise<void> {
    this.#snapshotId = { ...id };
    this.#entries = [];
    this.#startOffset = id.offset;
    await this.#file.truncateFullyAndStartAt(id.offset);
    await this.#deleteSnapshotsBefore(id);
  }

  /**
   * Retention of the log before the latest snapshot (`metadata.max.retention.bytes` / `.ms`):
   * whole segments wholly before the snapshot's end offset go once the log is larger or older
   * than allowed. Returns the number of segments deleted.
   */
  async cleanLog(nowMs: number): Promise<number> {
    const id = this.#snapshotId;
    if (id === null) return 0;
    const deleted = await this.#file.deleteOldSegments({ nowMs, highWatermark: id.offset });
    if (deleted > 0) {
      this.#logger.info(
        `__cluster_metadata-0: deleted ${deleted} segments before snapshot ${id.offset}; the log now starts at ${this.#file.logStartOffset}`,
      );
    }
    return deleted;
  }

  async #deleteSnapshotsBefore(id: OffsetAndEpoch): Promise<void> {
    for (const path of await listSnapshotFiles(this.#file.dir)) {
      if (path.id.offset > 0 && compareOffsetAndEpoch(path.id, id) < 0) {
        await deleteSnapshotFile(this.#file.dir, path.id, path.kind);
      }
    }
  }

  startOffset(): number {
    return this.#startOffset;
  }

  endOffset(): number {
    return this.#startOffset + this.#entries.length;
  }

  lastEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? this.#snapshotId?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    // Scan back from the end: the entries of later epochs sit at the tail.
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.epoch <= epoch) return { offset: entry.offset + 1, epoch: entry.epoch };
    }
    const snapshot = this.#snapshotId;
    if (snapshot !== null && snapshot.epoch <= epoch) return { ...snapshot };
    return { offset: this.#startOffset, epoch: 0 };
  }

  read(fromOffset: number, limits: ReadLimits): LogEntry[] {
    const out: LogEntry[] = [];
    let bytes = 0;
    for (let i = fromOffset - this.#startOffset; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      const size = entrySizeBytes(entry);
      if (out.length > 0 && (out.length >= limits.maxCount || bytes + size > limits.maxBytes)) {
        break;
      }
      out.push(entry);
      bytes += size;
    }
    return out;
  }

  latestSnapshotId(): OffsetAndEpoch | null {
    return this.#snapshotId ? { ...this.#snapshotId } : null;
  }

  /** Appends entries (offsets continuing the log) and resolves once they are fsynced. */
  async append(entries: readonly LogEntry[], nowMs: number): Promise<void> {
    if (entries.length === 0) return;
    if (entries[0]!.offset !== this.endOffset()) {
      throw new Error(
        `Cannot append metadata entry ${entries[0]!.offset}: the log ends at ${this.endOffset()}`,
      );
    }
    this.#entries.push(...entries);
    await this.#file.appendAsFollower(concat(encodeEntries(entries, nowMs)), { nowMs });
  }

  /** Removes every entry at or after `offset` (never before the latest snapshot). */
  async truncateTo(offset: number): Promise<void> {
    if (offset >= this.endOffset()) return;
    if (offset < this.#startOffset) {
      throw new Error(`Cannot truncate __cluster_metadata-0 to ${offset}: before the snapshot`);
    }
    this.#entries.length = Math.max(0, offset - this.#startOffset);
    await this.#file.truncateTo(offset);
  }

  /** Flushes and closes the file log. */
  async close(): Promise<void> {
    await this.#file.close();
  }
}

/**
 * Scans the partition directory (Kafka's `recoverSnapshots`): removes partial and deleted
 * snapshot files and every complete one but the latest, and returns the latest (the bootstrap
 * snapshot at offset 0 is left alone and never counts).
 */
async function recoverSnapshots(dir: string): Promise<OffsetAndEpoch | null> {
  const paths = await listSnapshotFiles(dir);
  let latest: OffsetAndEpoch | null = null;
  for (const path of paths) {
    if (path.kind !== "complete" || path.id.offset === 0) continue;
    if (latest === null || compareOffsetAndEpoch(path.id, latest) > 0) latest = path.id;
  }
  for (const path of paths) {
    if (path.id.offset === 0 && path.kind === "complete") continue;
    const keep = path.kind === "complete" && latest !== null &&
      compareOffsetAndEpoch(path.id, latest) === 0;
    if (!keep) await deleteSnapshotFile(dir, path.id, path.kind);
  }
  return latest;
}
