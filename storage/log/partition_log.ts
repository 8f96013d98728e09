/**
 * The interface every partition log implements (the file log and the in-memory log), used for
 * data partitions and `__cluster_metadata-0` alike. One conformance suite
 * (`log_conformance.ts`) checks every implementation.
 *
 * Failure contract: bad input or an impossible request throws `LogError` with a Kafka error code
 * (OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE); an I/O failure rejects with the
 * underlying Deno error and leaves the log to be reopened (recovery repairs the files).
 *
 * @module
 */
import type { EpochEntry } from "./checkpoint_file.ts";
import type { EpochEndOffset } from "./leader_epoch_cache.ts";

/** Options of a leader append. */
export interface AppendOptions {
  /** Written into every batch's partitionLeaderEpoch. */
  leaderEpoch: number;
  /** Time used for LogAppendTime (defaults to `nowMs`) when the topic uses it. */
  logAppendTimeMs?: number;
  /** Current wall-clock time, for segment.ms rolls and LogAppendTime. */
  nowMs: number;
  /**
   * The caller already verified every batch's CRC (the broker's LogValidator does for client
   * batches), so the log does not compute it a second time; it costs ~1/5 of a produce's CPU.
   */
  crcVerified?: boolean;
}

/** Options of a follower append. */
export interface FollowerAppendOptions {
  nowMs: number;
}

/** What an append did. */
export interface AppendResult {
  /** Offset of the first appended record, -1 when nothing was appended. */
  baseOffset: number;
  /** Offset of the last appended record, -1 when nothing was appended. */
  lastOffset: number;
  /** The LogAppendTime written, or -1 for CreateTime topics. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Number of batches and bytes appended. */
  batchCount: number;
  sizeBytes: number;
}

/** Options of a read. */
export interface ReadOptions {
  /** Soft byte limit; whole batches only. */
  maxBytes: number;
  /** Exclusive upper bound (high watermark or last stable offset); defaults to the log end. */
  maxOffset?: number;
  /** Return the first batch even when it exceeds `maxBytes` (default true, as Fetch v3+). */
  minOneMessage?: boolean;
  /** Where the read bytes go (default: fresh memory); see {@link ReadBuffers}. */
  buffers?: ReadBuffers;
}

/**
 * Memory for the bytes of reads: a pool whose buffers the caller gives back once it wrote them
 * out (Fetch answers: the listener returns them after the socket write). Reusing them avoids the
 * first touch of fresh pages and the collection of ~1 MiB garbage per fetch.
 */
export interface ReadBuffers {
  /** A buffer of exactly `sizeBytes` bytes; its contents are undefined. */
  take(sizeBytes: number): Uint8Array;
}

/** Stored batches returned by a read. */
export interface ReadResult {
  /** Whole stored batches, byte-identical to what was appended (offsets assigned). */
  records: Uint8Array;
  /** Base offset of the first returned batch, or the fetch offset when empty. */
  firstOffset: number;
  logStartOffset: number;
  logEndOffset: number;
}

/** A timestamp and the offset it was found at. */
export interface TimestampAndOffset {
  timestamp: number;
  offset: number;
  /** Leader epoch of the batch, -1 when unknown. */
  leaderEpoch: number;
}

/** Options of retention. */
export interface RetentionOptions {
  nowMs: number;
  /** Segments are deleted only when wholly below this offset (default: the log end). */
  highWatermark?: number;
}

/**
 * One partition's log.
 *
 * @example
 * ```ts
 * import { MemoryLog } from "./memory_log.ts";
 * const log: PartitionLog = new MemoryLog();
 * console.log(log.logEndOffset); // 0
 * ```
 */
export interface PartitionLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** Offset up to which everything is fsynced (exclusive). */
  readonly recoveryPoint: number;
  /** Total bytes of all segments. */
  readonly sizeBytes: number;
  /** Number of segments (the in-memory log keeps the same segment boundaries). */
  readonly segmentCount: number;

  /** Validates, assigns offsets, appends; resolves when durable under the flush policy. */
  append(batches: Uint8Array, options: AppendOptions): Promise<AppendResult>;
  /**
   * Appends batches with their offsets and epochs as given (replication, Raft). Keeps no view of
   * `batches` once it resolves: the replica fetcher reuses the buffer for the next response.
   */
  appendAsFollower(batches: Uint8Array, options: FollowerAppendOptions): Promise<AppendResult>;
  /** Reads whole stored batches from the first batch holding `fetchOffset`. */
  read(fetchOffset: number, options: ReadOptions): Promise<ReadResult>;

  /** First batch whose max timestamp >= `timestampMs` (ListOffsets), or null. */
  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null;
  /** Largest timestamp and its batch's last offset, or null when empty. */
  maxTimestampAndOffset(): TimestampAndOffset | null;
  /** OffsetForLeaderEpoch (KIP-101/KIP-595 divergence). */
  endOffsetForLeaderEpoch(epoch: number): EpochEndOffset;
  /** The latest epoch in the log, or null. */
  latestEpoch(): number | null;
  /** Epoch cache entries, oldest first. */
  epochEntries(): EpochEntry[];
  /**
   * A new leader records that its epoch starts at the log end (Kafka's
   * `maybeAssignEpochStartOffset`), so followers of an older epoch find where they diverge even
   * before it appends anything. No-op when `epoch` is not above the latest epoch.
   */
  assignEpochStartOffset(epoch: number, offset: number): void;

  /** Removes everything at or after `offset`; false when `offset` >= log end. */
  truncateTo(offset: number): Promise<boolean>;
  /** Deletes everything and restarts empty at `offset` (snapshot install, DeleteRecords past end). */
  truncateFullyAndStartAt(offset: number): Promise<void>;
  /** DeleteRecords: moves the log start offset to `offset`; returns the new log start offset. */
  deleteRecordsBefore(offset: number): Promise<number>;
  /** Applies retention.ms / retention.bytes and the log start offset; returns segments deleted. */
  deleteOldSegments(options: RetentionOptions): Promise<number>;

  /** fsyncs everything appended so far. */
  flush(): Promise<void>;
  /** Flushes when `flush.ms` has passed since the last flush (deferred policy only). */
  flushIfDue(nowMs: number): Promise<void>;
  /** Flushes and releases the log. */
  close(): Promise<void>;
}
