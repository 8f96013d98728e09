/**
 * An in-memory {@link PartitionLog} with the same semantics as the file log, segment boundaries
 * included (both use `SegmentShape`), for the Raft simulator and unit tests. Everything is
 * "durable" at once: the recovery point is always the log end.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from "../../net/protocol/record_batch.ts";
import { validateBatches } from "./batch_validation.ts";
import type { EpochEntry } from "./checkpoint_file.ts";
import { deletableSegmentCount } from "./retention.ts";
import { exactOffsetForTimestamp } from "./timestamp_search.ts";
import { type EpochEndOffset, LeaderEpochCache } from "./leader_epoch_cache.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import { LogError, LogErrorCode } from "./log_error.ts";
import type {
  AppendOptions,
  AppendResult,
  FollowerAppendOptions,
  PartitionLog,
  ReadOptions,
  ReadResult,
  RetentionOptions,
  TimestampAndOffset,
} from "./partition_log.ts";
import { type BatchSummary, SegmentShape } from "./segment_shape.ts";

interface MemoryBatch extends BatchSummary {
  bytes: Uint8Array;
  leaderEpoch: number;
}

interface MemorySegment {
  shape: SegmentShape;
  batches: MemoryBatch[];
}

/** Options of {@link MemoryLog}. */
export interface MemoryLogOptions {
  config?: LogConfig;
  /** Offset of the first segment (default 0). */
  startOffset?: number;
  nowMs?: number;
}

/**
 * A partition log held in memory.
 *
 * @example
 * ```ts
 * import { MemoryLog } from "./memory_log.ts";
 * const log = new MemoryLog();
 * const { records } = await log.read(0, { maxBytes: 1024 }); // empty
 * ```
 */
export class MemoryLog implements PartitionLog {
  readonly config: LogConfig;
  #segments: MemorySegment[] = [];
  #logStartOffset: number;
  #epochs = new LeaderEpochCache();

  constructor(options: MemoryLogOptions = {}) {
    this.config = options.config ?? logConfig();
    this.#logStartOffset = options.startOffset ?? 0;
    this.#segments.push(this.#newSegment(this.#logStartOffset, options.nowMs ?? Date.now()));
  }

  #newSegment(baseOffset: number, nowMs: number): MemorySegment {
    return { shape: new SegmentShape(baseOffset, nowMs), batches: [] };
  }

  get #active(): MemorySegment {
    return this.#segments[this.#segments.length - 1]!;
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }

  get logEndOffset(): number {
    return this.#active.shape.nextOffset;
  }

  get recoveryPoint(): number {
    return this.logEndOffset;
  }

  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.shape.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.shape.baseOffset);
  }

  append(batches: Uint8Array, options: AppendOptions): Promise<AppendResult> {
    return settle(() => this.#append(batches, options));
  }

  #append(batches: Uint8Array, options: AppendOptions): AppendResult {
    const valid = validateBatches(batches, {
      maxMessageBytes: this.config.maxMessageBytes,
      leader: true,
      allowPartialTail: false,
    });
    const appendTimeMs = this.config.messageTimestampType === "LogAppendTime"
      ? options.logAppendTimeMs ?? options.nowMs
      : -1;
    const stored: MemoryBatch[] = [];
    let next = this.logEndOffset;
    for (const { pos, sizeBytes, header } of valid) {
      setBaseOffset(batches, pos, next);
      setPartitionLeaderEpoch(batches, pos, options.leaderEpoch);
      if (appendTimeMs >= 0) setLogAppendTime(batches, pos, appendTimeMs);
      const lastOffset = next + header.lastOffsetDelta;
      stored.push({
        baseOffset: next,
        lastOffset,
        sizeBytes,
        maxTimestamp: appendTimeMs >= 0 ? appendTimeMs : header.maxTimestamp,
        bytes: batches.slice(pos, pos + sizeBytes),
        leaderEpoch: options.leaderEpoch,
      });
      next = lastOffset + 1;
    }
    if (stored.length > 0) {
      const latest = this.#epochs.latestEpoch();
      assert(latest === null || options.leaderEpoch >= latest, "leader append with a stale epoch");
      this.#epochs.assign(options.leaderEpoch, stored[0]!.baseOffset);
      this.#store(stored, options.nowMs);
    }
    return this.#result(stored, appendTimeMs);
  }

  appendAsFollower(batches: Uint8Array, options: FollowerAppendOptions): Promise<AppendResult> {
    return settle(() => this.#appendAsFollower(batches, options));
  }

  #appendAsFollower(batches: Uint8Array, options: FollowerAppendOptions): AppendResult {
    const valid = validateBatches(batches, {
      maxMessageBytes: Math.max(this.config.maxMessageBytes, batches.length),
      leader: false,
      allowPartialTail: true,
    });
    const stored: MemoryBatch[] = [];
    let expected = this.logEndOffset;
    for (const { pos, sizeBytes, header } of valid) {
      if (header.baseOffset < expected) {
        throw new LogError(
          LogErrorCode.INVALID_RECORD,
          `Follower batch at offset ${header.baseOffset} is below the expected ${expected}.`,
        );
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      stored.push({
        baseOffset: header.baseOffset,
        lastOffset,
        sizeBytes,
        maxTimestamp: header.maxTimestamp,
        bytes: batches.slice(pos, pos + sizeBytes),
        leaderEpoch: header.partitionLeaderEpoch,
      });
      expected = lastOffset + 1;
    }
    for (const batch of stored) {
      const latest = this.#epochs.latestEpoch();
      if (batch.leaderEpoch >= 0 && (latest === null || batch.leaderEpoch > latest)) {
        this.#epochs.assign(batch.leaderEpoch, batch.baseOffset);
      }
    }
    if (stored.length > 0) this.#store(stored, options.nowMs);
    return this.#result(stored, -1);
  }

  #store(stored: readonly MemoryBatch[], nowMs: number): void {
    for (const batch of stored) {
      if (this.#active.shape.shouldRoll(batch, nowMs, this.config)) {
        if (this.#active.shape.sizeBytes === 0) this.#segments.pop();
        this.#segments.push(this.#newSegment(batch.baseOffset, nowMs));
      }
      this.#active.shape.add(batch, this.config.indexIntervalBytes);
      this.#active.batches.push(batch);
    }
  }

  #result(stored: readonly MemoryBatch[], logAppendTimeMs: number): AppendResult {
    return {
      baseOffset: stored[0]?.baseOffset ?? -1,
      lastOffset: stored.at(-1)?.lastOffset ?? -1,
      logAppendTimeMs,
      logStartOffset: this.#logStartOffset,
      batchCount: stored.length,
      sizeBytes: stored.reduce((sum, b) => sum + b.sizeBytes, 0),
    };
  }

  read(fetchOffset: number, options: ReadOptions): Promise<ReadResult> {
    const logStartOffset = this.#logStartOffset;
    const logEndOffset = this.logEndOffset;
    if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) {
      return Promise.reject(
        new LogError(
          LogErrorCode.OFFSET_OUT_OF_RANGE,
          `Offset ${fetchOffset} is outside [${logStartOffset}, ${logEndOffset}].`,
        ),
      );
    }
    const empty = {
      records: new Uint8Array(0),
      firstOffset: fetchOffset,
      logStartOffset,
      logEndOffset,
    };
    const bound = Math.min(options.maxOffset ?? logEndOffset, logEndOffset);
    const minOne = options.minOneMessage ?? true;
    for (const segment of this.#segments) {
      if (segment.shape.nextOffset <= fetchOffset) continue;
      const start = segment.batches.findIndex((b) => b.lastOffset >= fetchOffset);
      if (start < 0) continue;
      const picked: Uint8Array[] = [];
      let total = 0;
      for (let i = start; i < segment.batches.length; i++) {
        const batch = segment.batches[i]!;
        if (batch.lastOffset >= bound) break;
        const limit = picked.length === 0 && minOne
          ? Math.max(options.maxBytes, batch.sizeBytes)
          : options.maxBytes;
        if (total + batch.sizeBytes > limit) break;
        picked.push(batch.bytes);
        total += batch.sizeBytes;
      }
      if (picked.length === 0) return Promise.resolve(empty);
      const records = new Uint8Array(total);
      let at = 0;
      for (const bytes of picked) {
        records.set(bytes, at);
        at += bytes.length;
      }
      return Promise.resolve({
        records,
        firstOffset: segment.batches[start]!.baseOffset,
        logStartOffset,
        logEndOffset,
      });
    }
    return Promise.resolve(empty);
  }

  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null {
    for (const segment of this.#segments) {
      for (const b of segment.batches) {
        if (b.maxTimestamp < timestampMs || b.lastOffset < this.#logStartOffset) continue;
        return exactOffsetForTimestamp(b.bytes, timestampMs, this.#logStartOffset, b.leaderEpoch);
      }
    }
    return null;
  }

  maxTimestampAndOffset(): TimestampAndOffset | null {
    let best: TimestampAndOffset | null = null;
    for (const { shape } of this.#segments) {
      if (shape.maxTimestampSoFar < 0 || shape.offsetOfMaxTimestampSoFar < this.#logStartOffset) {
        continue;
      }
      if (best === null || shape.maxTimestampSoFar > best.timestamp) {
        best = {
          timestamp: shape.maxTimestampSoFar,
          offset: shape.offsetOfMaxTimestampSoFar,
          leaderEpoch: this.#epochs.epochForOffset(shape.offsetOfMaxTimestampSoFar) ?? -1,
        };
      }
    }
    return best;
  }

  endOffsetForLeaderEpoch(epoch: number): EpochEndOffset {
    return this.#epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  latestEpoch(): number | null {
    return this.#epochs.latestEpoch();
  }

  epochEntries(): EpochEntry[] {
    return this.#epochs.entries();
  }

  assignEpochStartOffset(epoch: number, offset: number): void {
    const latest = this.#epochs.latestEpoch();
    if (latest !== null && epoch <= latest) return;
    this.#epochs.assign(epoch, offset);
  }

  async truncateTo(offset: number): Promise<boolean> {
    assert(Number.isSafeInteger(offset) && offset >= 0, `bad truncation offset ${offset}`);
    if (offset >= this.logEndOffset) {
      // Epochs that start at the log end (a leader that never appended) go, as in Kafka.
      this.#epochs.truncateFromEnd(this.logEndOffset);
      return false;
    }
    if (offset <= this.#segments[0]!.shape.baseOffset) {
      await this.truncateFullyAndStartAt(offset);
      return true;
    }
    while (this.#segments.length > 1 && this.#active.shape.baseOffset > offset) {
      this.#segments.pop();
    }
    const active = this.#active;
    const kept = active.batches.filter((b) => b.lastOffset < offset);
    const shape = new SegmentShape(active.shape.baseOffset, active.shape.createdMs);
    for (const batch of kept) shape.add(batch, this.config.indexIntervalBytes);
    this.#segments[this.#segments.length - 1] = { shape, batches: kept };
    this.#logStartOffset = Math.min(this.#logStartOffset, this.logEndOffset);
    this.#epochs.truncateFromEnd(this.logEndOffset);
    return true;
  }

  truncateFullyAndStartAt(offset: number): Promise<void> {
    assert(Number.isSafeInteger(offset) && offset >= 0, `bad start offset ${offset}`);
    this.#segments = [this.#newSegment(offset, Date.now())];
    this.#logStartOffset = offset;
    this.#epochs.clear();
    return Promise.resolve();
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    if (offset > this.logEndOffset || offset < 0) {
      throw new LogError(
        LogErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records before ${offset}: the log ends at ${this.logEndOffset}.`,
      );
    }
    if (offset <= this.#logStartOffset) return this.#logStartOffset;
    this.#logStartOffset = offset;
    this.#epochs.truncateFromStart(offset);
    await this.#deleteSegments({ nowMs: Date.now(), highWatermark: offset }, true);
    return this.#logStartOffset;
  }

  deleteOldSegments(options: RetentionOptions): Promise<number> {
    return this.#deleteSegments(options, false);
  }

  #deleteSegments(options: RetentionOptions, startOffsetOnly: boolean): Promise<number> {
    const count = deletableSegmentCount(
      this.#segments.map(({ shape }) => ({
        baseOffset: shape.baseOffset,
        sizeBytes: shape.sizeBytes,
        largestTimestampMs: shape.maxTimestampSoFar >= 0
          ? shape.maxTimestampSoFar
          : shape.createdMs,
      })),
      {
        config: this.config,
        nowMs: options.nowMs,
        logStartOffset: this.#logStartOffset,
        logEndOffset: this.logEndOffset,
        highWatermark: Math.min(options.highWatermark ?? this.logEndOffset, this.logEndOffset),
        startOffsetOnly,
      },
    );
    if (count > 0) {
      // Deleting the active segment: roll an empty one at the log end first (Kafka does too).
      if (count === this.#segments.length) {
        this.#segments.push(this.#newSegment(this.logEndOffset, options.nowMs));
      }
      this.#segments.splice(0, count);
      this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments[0]!.shape.baseOffset);
      this.#epochs.truncateFromStart(this.#logStartOffset);
    }
    return Promise.resolve(count);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  flushIfDue(_nowMs: number): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Runs `fn`, turning a throw into a rejected promise (the async contract of PartitionLog). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
