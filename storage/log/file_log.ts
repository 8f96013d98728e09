/**
 * The partition log on disk (Kafka's `UnifiedLog` + `LocalLog` + `LogLoader`, without tiered
 * storage): a directory of segments, the leader epoch cache and `partition.metadata`.
 *
 * Durability (see {@link FlushPolicy}): by default `append` resolves only after its bytes are
 * fdatasynced. Appends that arrive while an fsync is in flight join the next one, so at most one
 * flush per log is in flight and any number of waiting appends share it (group commit). With
 * `flush.messages` / `flush.ms` set explicitly, appends resolve once written and are fsynced by
 * count or by {@link FileLog.flushIfDue}. An fsync failure fails the log for good (no retry after
 * fsyncgate); reopening recovers from the files.
 *
 * Descriptors: segment and index files are opened through a bounded {@link HandleCache} (process
 * wide unless {@link FileLogOptions.handleCache} is given), so an idle log holds no descriptor and
 * a process holds at most `handlesMax` idle ones plus those in use. Running out of descriptors
 * while opening a log is a {@link LogError} with KAFKA_STORAGE_ERROR.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  batchSizeAt,
  LOG_OVERHEAD_BYTES,
  readInt64Number,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from "../../net/protocol/record_batch.ts";
import { readAtSync, syncDir, writeFileAtomic } from "../fs.ts";
import { validateBatches, type ValidatedBatch } from "./batch_validation.ts";
import {
  CheckpointFormatError,
  formatLeaderEpochCheckpoint,
  parseLeaderEpochCheckpoint,
  readPartitionMetadata,
  writePartitionMetadata,
} from "./checkpoint_file.ts";
import type { EpochEntry } from "./checkpoint_file.ts";
import { type EpochEndOffset, LeaderEpochCache } from "./leader_epoch_cache.ts";
import { type FlushPolicy, flushPolicyOf, type LogConfig, logConfig } from "./log_config.ts";
import { LogError, LogErrorCode } from "./log_error.ts";
import { type HandleCache, isTooManyOpenFiles, sharedHandleCache } from "./handle_cache.ts";
import { LogSegment, type LogWarn, offsetFileStem, type PlacedBatch } from "./log_segment.ts";
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
import { SegmentShape } from "./segment_shape.ts";
import { deletableSegmentCount } from "./retention.ts";
import { IoThrottle } from "./io_throttle.ts";
import {
  type AbortedBatchTest,
  abortedBatchTest,
  addBatchToMap,
  cleanBatch,
  deleteHorizonOf,
  OffsetMap,
} from "./log_cleaner.ts";
import { exactOffsetForTimestamp } from "./timestamp_search.ts";
import { ReadPlacement } from "./read_placement.ts";
import { maxTimestampOfRecords, untrustedMaxTimestamp } from "./log_validator.ts";

/** File names inside a partition directory. */
export const LEADER_EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint";
export const PARTITION_METADATA_FILE = "partition.metadata";

const FLUSH_ROUNDS_MAX = 1000;
const SEGMENT_LOG_PATTERN = /^(\d{20})\.log$/;
const SEGMENT_INDEX_PATTERN = /^(\d{20})\.(index|timeindex|txnindex)$/;

/** Options of {@link FileLog.open}. */
export interface FileLogOptions {
  /** The partition directory `<log.dir>/<topic>-<partition>`; created when missing. */
  dir: string;
  config?: LogConfig;
  /** Offset below which the segments are known to be fsynced (per-dir checkpoint); default 0. */
  recoveryPoint?: number;
  /** Log start offset from the per-dir checkpoint; default 0. */
  logStartOffset?: number;
  /** The log was closed cleanly: skip recovery (the tail is still verified). */
  hadCleanShutdown?: boolean;
  /**
   * Where compaction's dirty section starts, from the per-dir `cleaner-offset-checkpoint`
   * (default: the log start: all of it is dirty).
   */
  firstDirtyOffset?: number;
  /** Written to `partition.metadata` when that file is missing. */
  topicId?: string;
  /** Wall-clock time at open (segment ages); default `Date.now()`. */
  nowMs?: number;
  /** Receives one line per thing recovery drops or rebuilds; default `console.warn`. */
  warn?: LogWarn;
  /** Where segment and index file handles are cached; default the process-wide cache. */
  handleCache?: HandleCache;
}

/** Sums what an append placed. */
function appendResult(
  placed: readonly PlacedBatch[],
  logAppendTimeMs: number,
  logStartOffset: number,
): AppendResult {
  if (placed.length === 0) {
    return {
      baseOffset: -1,
      lastOffset: -1,
      logAppendTimeMs,
      logStartOffset,
      batchCount: 0,
      sizeBytes: 0,
    };
  }
  return {
    baseOffset: placed[0]!.baseOffset,
    lastOffset: placed[placed.length - 1]!.lastOffset,
    logAppendTimeMs,
    logStartOffset,
    batchCount: placed.length,
    sizeBytes: placed.reduce((sum, b) => sum + b.sizeBytes, 0),
  };
}

/**
 * A partition log stored in a directory.
 *
 * @example
 * ```ts
 * import { FileLog } from "./file_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = await FileLog.open({ dir: `${dir}/orders-0` });
 * console.log(log.logEndOffset); // 0
 * await log.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileLog implements PartitionLog {
  readonly dir: string;
  readonly config: LogConfig;
  readonly flushPolicy: FlushPolicy;
  #warn: LogWarn;
  #handles: HandleCache;
  #segments: LogSegment[] = [];
  /** Which reads run on the event loop (recent, small, and not found cold lately). */
  readonly #readPlacement = new ReadPlacement<LogSegment>();
  #logStartOffset = 0;
  #recoveryPoint = 0;
  #epochs = new LeaderEpochCache();
  #epochWrite: Promise<void> = Promise.resolve();
  #flushing: Promise<void> | null = null;
  #truncations = 0;
  #dirNeedsSync = false;
  #unflushedMessages = 0;
  #lastFlushMs = Date.now();
  #failure: Error | null = null;
  #closed = false;
  #topicId: string | null = null;
  #flushCount = 0;
  #compacting = false;
  /** Compaction's checkpoint: below it the log was cleaned (Kafka's first dirty offset). */
  #firstDirtyOffset = 0;
  /** The latest delete horizon a cleaning left on a tombstone batch, or null (KIP-534). */
  #latestDeleteHorizonMs: number | null = null;
  /** The aborted-transaction test of the compaction running now. */
  #cleanerAborted: AbortedBatchTest = () => false;
  /**
   * What the partition on top of this log tells the cleaner (storage cannot know transactions'
   * outcome alone): where cleaning must stop (the last stable offset) and which transactions
   * aborted. Null: clean up to the log end, no transaction aborted.
   */
  cleanerLimits: (() => CleanerLimits) | null = null;

  private constructor(dir: string, config: LogConfig, options: FileLogOptions) {
    this.dir = dir;
    this.config = config;
    this.flushPolicy = flushPolicyOf(config);
    this.#warn = options.warn ?? ((line) => console.warn(line));
    this.#handles = options.handleCache ?? sharedHandleCache;
  }

  /** Opens (creating or recovering) the log in `options.dir`. */
  static async open(options: FileLogOptions): Promise<FileLog> {
    const log = new FileLog(options.dir, options.config ?? logConfig(), options);
    try {
      await log.#load(options);
    } catch (error) {
      await log.#epochWrite.catch(() => {});
      log.closeAbruptly();
      if (isTooManyOpenFiles(error)) {
        throw new LogError(
          LogErrorCode.KAFKA_STORAGE_ERROR,
          `Cannot open partition log ${options.dir}: the process is out of file descriptors (raise ulimit -n).`,
          { cause: error },
        );
      }
      throw error;
    }
    return log;
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }

  get logEndOffset(): number {
    return this.#active.nextOffset;
  }

  get recoveryPoint(): number {
    return this.#recoveryPoint;
  }

  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Base offset of the active (last) segment: it changes when the log rolls. */
  get activeSegmentBaseOffset(): number {
    return this.#active.baseOffset;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }

  /** Number of flushes (fsync rounds) done so far; shows group commit at work. */
  get flushCount(): number {
    return this.#flushCount;
  }

  /** The topic id from `partition.metadata`, or null. */
  get topicId(): string | null {
    return this.#topicId;
  }

  get #active(): LogSegment {
    return this.#segments[this.#segments.length - 1]!;
  }

  // ---------------------------------------------------------------- loading and recovery

  async #load(options: FileLogOptions): Promise<void> {
    const nowMs = options.nowMs ?? Date.now();
    const created = await this.#ensureDir();
    const bases = await this.#cleanDirectory(nowMs);
    let indexProblemSegments = new Set<number>();
    for (const base of bases) {
      const { segment, indexProblems } = LogSegment.open(
        this.dir,
        base,
        this.config,
        nowMs,
        this.#handles,
      );
      this.#segments.push(segment);
      if (indexProblems.length > 0) {
        for (const problem of indexProblems) this.#warn(`Rebuilding index ${problem}`);
        indexProblemSegments.add(this.#segments.length - 1);
      }
    }
    if (this.#segments.length === 0) {
      const start = options.logStartOffset ?? 0;
      this.#segments.push(LogSegment.create(this.dir, start, this.config, nowMs, this.#handles));
      indexProblemSegments = new Set();
    }
    this.#fillNextOffsets();
    const epochsLoaded = await this.#loadEpochCheckpoint();
    const epochsBefore = epochsLoaded ? this.#epochs.entries() : null;
    await this.#recover(options, indexProblemSegments);
    this.#logStartOffset = Math.max(options.logStartOffset ?? 0, this.#segments[0]!.baseOffset);
    if (this.#logStartOffset > this.logEndOffset) {
      this.#warn(
        `Log start offset ${this.#logStartOffset} of ${this.dir} is beyond the log end ${this.logEndOffset}; using the log end.`,
      );
      this.#logStartOffset = this.logEndOffset;
    }
    if (!epochsLoaded) this.#rebuildEpochs();
    this.#epochs.truncateFromEnd(this.logEndOffset);
    this.#epochs.truncateFromStart(this.#logStartOffset);
    if (JSON.stringify(this.#epochs.entries()) !== JSON.stringify(epochsBefore)) {
      this.#persistEpochs();
    }
    await this.#loadPartitionMetadata(options.topicId);
    this.#dirNeedsSync = true;
    this.#recoveryPoint = Math.min(options.recoveryPoint ?? 0, this.logEndOffset);
    this.#firstDirtyOffset = options.firstDirtyOffset ?? this.#logStartOffset;
    this.#jitterActive(); // after recovery, which rebuilds the active segment's shape
    if (created) await syncDir(path.dirname(this.dir));
    await this.flush();
  }

  async #ensureDir(): Promise<boolean> {
    try {
      await Deno.stat(this.dir);
      return false;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      await Deno.mkdir(this.dir, { recursive: true });
      return true;
    }
  }

  /** Removes temp/cleaned/deleted leftovers, completes swaps; returns segment base offsets. */
  async #cleanDirectory(nowMs: number): Promise<number[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.dir)) if (entry.isFile) names.push(entry.name);
    const swaps: number[] = [];
    for (const name of names) {
      if (/\.(tmp|cleaned|deleted)$/.test(name)) {
        await Deno.remove(path.join(this.dir, name));
        this.#warn(`Removed leftover file ${path.join(this.dir, name)}`);
      } else if (name.endsWith(".swap")) {
        const m = /^(\d{20})\.log\.swap$/.exec(name);
        if (m) swaps.push(Number(m[1]));
      }
    }
    for (const name of names) {
      // An index swap without its log swap is an unfinished cleaning: it goes.
      const m = /^(\d{20})\.(index|timeindex|txnindex)\.swap$/.exec(name);
      if (m && !swaps.includes(Number(m[1]))) await Deno.remove(path.join(this.dir, name));
    }
    for (const base of swaps.sort((a, b) => a - b)) await this.#completeSwap(base, nowMs);
    const logNames = new Set<number>();
    const fresh: string[] = [];
    for await (const entry of Deno.readDir(this.dir)) if (entry.isFile) fresh.push(entry.name);
    for (const name of fresh) {
      const m = SEGMENT_LOG_PATTERN.exec(name);
      if (m) logNames.add(Number(m[1]));
    }
    for (const name of fresh) {
      const m = SEGMENT_INDEX_PATTERN.exec(name);
      if (m && !logNames.has(Number(m[1]))) {
        await Deno.remove(path.join(this.dir, name));
        this.#warn(`Removed orphan index ${path.join(this.dir, name)}`);
      }
    }
    return [...logNames].sort((a, b) => a - b);
  }

  /**
   * A `.log.swap` is a finished cleaned segment whose swap-in was interrupted: it replaces every
   * segment whose base offset lies in [its base, its next offset), as Kafka's LogLoader does.
   */
  async #completeSwap(base: number, _nowMs: number): Promise<void> {
    const swapPath = path.join(this.dir, `${offsetFileStem(base)}.log.swap`);
    const next = nextOffsetOfFile(swapPath, base);
    for await (const entry of Deno.readDir(this.dir)) {
      const m = SEGMENT_LOG_PATTERN.exec(entry.name) ?? SEGMENT_INDEX_PATTERN.exec(entry.name);
      if (!m) continue;
      const b = Number(m[1]);
      if (b >= base && b < next) await Deno.remove(path.join(this.dir, entry.name));
    }
    renameSwapFiles(this.dir, base);
    await syncDir(this.dir);
    this.#warn(`Completed interrupted swap of ${swapPath} (offsets ${base}..${next - 1})`);
  }

  /** Until recovery knows better, a segment ends where the next begins. */
  #fillNextOffsets(): void {
    for (let i = 0; i + 1 < this.#segments.length; i++) {
      this.#segments[i]!.shape.nextOffset = this.#segments[i + 1]!.baseOffset;
    }
  }

  async #loadEpochCheckpoint(): Promise<boolean> {
    const filePath = path.join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE);
    let text: string;
    try {
      text = await Deno.readTextFile(filePath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return this.#segments.every((s) => s.sizeBytes === 0);
      }
      throw error;
    }
    try {
      const entries = parseLeaderEpochCheckpoint(text, filePath);
      this.#epochs = new LeaderEpochCache(entries);
      return true;
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw error;
      this.#warn(`${error.message} Rebuilding it from the segments.`);
      return false;
    }
  }

  #rebuildEpochs(): void {
    this.#epochs = new LeaderEpochCache();
    for (const segment of this.#segments) {
      segment.walkHeaders(0, (header) => {
        this.#assignEpochFromBatch(header.leaderEpoch, header.baseOffset);
        return true;
      });
    }
  }

  #assignEpochFromBatch(epoch: number, baseOffset: number): void {
    const latest = this.#epochs.latestEpoch();
    if (epoch >= 0 && (latest === null || epoch > latest)) this.#epochs.assign(epoch, baseOffset);
  }

  /**
   * Kafka's LogLoader.recoverLog: every segment from the one holding the recovery point is
   * re-read and validated; the first invalid batch truncates the log there. Earlier segments are
   * trusted unless their indexes are damaged. After a clean shutdown only the tail is verified.
   */
  async #recover(options: FileLogOptions, indexProblemSegments: Set<number>): Promise<void> {
    const last = this.#segments.length - 1;
    let from = last + 1;
    if (!options.hadCleanShutdown) {
      const point = options.recoveryPoint ?? 0;
      from = 0;
      for (let i = 0; i <= last; i++) if (this.#segments[i]!.baseOffset <= point) from = i;
    } else if (!indexProblemSegments.has(last)) {
      const tail = this.#active;
      const entry = tail.offsetIndex.entries - 1;
      const bad = tail.firstInvalidPosition(entry >= 0 ? tail.offsetIndex.positionAt(entry) : 0);
      if (bad !== null) {
        this.#warn(`Log ${this.dir} was closed cleanly but its tail is invalid (${bad.why})`);
        from = last;
      } else {
        tail.loadNextOffset();
      }
    }
    for (let i = 0; i < this.#segments.length; i++) {
      if (i < from && !indexProblemSegments.has(i)) continue;
      const segment = this.#segments[i]!;
      // Off the event loop: this re-reads up to every segment after a crash.
      const truncated = await segment.recoverAsync(this.config, this.#warn, (batch) => {
        if (i >= from) this.#assignEpochFromBatch(batch.leaderEpoch, batch.baseOffset);
      });
      if (truncated > 0 && i < this.#segments.length - 1) {
        for (const dropped of this.#segments.splice(i + 1)) {
          this.#warn(
            `Deleting segment ${dropped.logPath} after the invalid batch in ${segment.logPath}`,
          );
          dropped.deleteSync();
        }
      }
    }
    if (this.#active.nextOffset === this.#active.baseOffset && this.#active.sizeBytes > 0) {
      this.#active.loadNextOffset();
    }
    this.#active.loadRollingBasedTimestamp();
  }

  async #loadPartitionMetadata(topicId: string | undefined): Promise<void> {
    const filePath = path.join(this.dir, PARTITION_METADATA_FILE);
    try {
      this.#topicId = await readPartitionMetadata(filePath);
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw error;
      this.#warn(`${error.message} Rewriting it.`);
      this.#topicId = null;
    }
    if (topicId !== undefined && this.#topicId !== topicId) {
      if (this.#topicId !== null) {
        throw new LogError(
          LogErrorCode.KAFKA_STORAGE_ERROR,
          `Partition ${this.dir} belongs to topic id ${this.#topicId}, not ${topicId}.`,
        );
      }
      await writePartitionMetadata(filePath, topicId);
      this.#topicId = topicId;
    }
  }

  // ---------------------------------------------------------------- appends

  #checkUsable(): void {
    if (this.#failure !== null) {
      throw new LogError(
        LogErrorCode.KAFKA_STORAGE_ERROR,
        `Log ${this.dir} failed earlier: ${this.#failure.message}`,
        { cause: this.#failure },
      );
    }
    assert(!this.#closed, `log ${this.dir} is closed`);
  }

  async append(batches: Uint8Array, options: AppendOptions): Promise<AppendResult> {
    this.#checkUsable();
    const valid = validateBatches(batches, {
      maxMessageBytes: this.config.maxMessageBytes,
      leader: true,
      allowPartialTail: false,
      checkCrc: options.crcVerified !== true,
    });
    const appendTimeMs = this.config.messageTimestampType === "LogAppendTime"
      ? options.logAppendTimeMs ?? options.nowMs
      : -1;
    const placed = assignOffsets(
      batches,
      valid,
      this.logEndOffset,
      options.leaderEpoch,
      appendTimeMs,
    );
    if (placed.length === 0) return appendResult(placed, appendTimeMs, this.#logStartOffset);
    const latest = this.#epochs.latestEpoch();
    assert(
      latest === null || options.leaderEpoch >= latest,
      `leader append with epoch ${options.leaderEpoch} below the log's epoch ${latest}`,
    );
    if (this.#epochs.assign(options.leaderEpoch, placed[0]!.baseOffset)) this.#persistEpochs();
    this.#writePlaced(batches, placed, options.nowMs);
    await this.#afterAppend(valid, placed);
    return appendResult(placed, appendTimeMs, this.#logStartOffset);
  }

  async appendAsFollower(
    batches: Uint8Array,
    options: FollowerAppendOptions,
  ): Promise<AppendResult> {
    this.#checkUsable();
    const valid = validateBatches(batches, {
      maxMessageBytes: Math.max(this.config.maxMessageBytes, batches.length),
      leader: false,
      allowPartialTail: true,
    });
    const placed: PlacedBatch[] = [];
    let expected = this.logEndOffset;
    for (const { pos, sizeBytes, header } of valid) {
      if (header.baseOffset < expected) {
        throw new LogError(
          LogErrorCode.INVALID_RECORD,
          `Follower batch at offset ${header.baseOffset} is below the expected ${expected} of ${this.dir}.`,
        );
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      placed.push({
        pos,
        sizeBytes,
        baseOffset: header.baseOffset,
        lastOffset,
        maxTimestamp: header.maxTimestamp,
      });
      expected = lastOffset + 1;
    }
    if (placed.length === 0) return appendResult(placed, -1, this.#logStartOffset);
    let epochsChanged = false;
    for (const { header } of valid) {
      const latest = this.#epochs.latestEpoch();
      if (
        header.partitionLeaderEpoch >= 0 &&
        (latest === null || header.partitionLeaderEpoch > latest)
      ) {
        epochsChanged = this.#epochs.assign(header.partitionLeaderEpoch, header.baseOffset) ||
          epochsChanged;
      }
    }
    if (epochsChanged) this.#persistEpochs();
    this.#writePlaced(batches, placed, options.nowMs);
    await this.#afterAppend(valid, placed);
    return appendResult(placed, -1, this.#logStartOffset);
  }

  /** Writes placed batches, rolling where the shared roll rule says, one write per run. */
  #writePlaced(bytes: Uint8Array, placed: readonly PlacedBatch[], nowMs: number): void {
    let run: PlacedBatch[] = [];
    let shape = cloneShape(this.#active.shape);
    for (const batch of placed) {
      if (shape.shouldRoll(batch, nowMs, this.config)) {
        if (run.length > 0) this.#active.append(bytes, run, this.config.indexIntervalBytes);
        run = [];
        this.#roll(batch.baseOffset, nowMs);
        shape = cloneShape(this.#active.shape);
      }
      shape.add(batch, this.config.indexIntervalBytes);
      run.push(batch);
    }
    this.#active.append(bytes, run, this.config.indexIntervalBytes);
  }

  #roll(baseOffset: number, nowMs: number): void {
    const old = this.#active;
    if (old.sizeBytes === 0) {
      this.#segments.pop();
      old.deleteSync();
    } else {
      old.onBecomeInactive();
    }
    this.#segments.push(LogSegment.create(this.dir, baseOffset, this.config, nowMs, this.#handles));
    this.#jitterActive();
    this.#dirNeedsSync = true;
  }

  /** Kafka's `randomSegmentJitter` for a new active segment. */
  #jitterActive(): void {
    const jitterMs = Math.min(this.config.segmentJitterMs, this.config.segmentMs);
    this.#active.shape.rollJitterMs = jitterMs > 0 ? Math.floor(Math.random() * jitterMs) : 0;
  }

  async #afterAppend(
    valid: readonly ValidatedBatch[],
    placed: readonly PlacedBatch[],
  ): Promise<void> {
    const end = placed[placed.length - 1]!.lastOffset + 1;
    for (const { header } of valid) this.#unflushedMessages += header.recordCount;
    const policy = this.flushPolicy;
    if (policy.kind === "durable") {
      await this.#flushUpTo(end);
    } else if (policy.flushMessages !== null && this.#unflushedMessages >= policy.flushMessages) {
      await this.#flushUpTo(end);
    }
  }

  // ---------------------------------------------------------------- flushing

  async flush(): Promise<void> {
    await this.#flushUpTo(this.logEndOffset);
  }

  async flushIfDue(nowMs: number): Promise<void> {
    const policy = this.flushPolicy;
    if (policy.kind !== "deferred" || policy.flushMs === null || this.#closed) return;
    if (this.#recoveryPoint < this.logEndOffset && nowMs - this.#lastFlushMs >= policy.flushMs) {
      await this.flush();
    }
  }

  /** Group commit: join the flush in flight or start the next; returns once `target` is durable. */
  async #flushUpTo(target: number): Promise<void> {
    for (let round = 0; round < FLUSH_ROUNDS_MAX; round++) {
      this.#checkUsable();
      if (this.#recoveryPoint >= Math.min(target, this.logEndOffset) && !this.#dirNeedsSync) return;
      if (this.#flushing === null) {
        this.#flushing = this.#doFlush().finally(() => {
          this.#flushing = null;
        });
      }
      await this.#flushing;
    }
    assert.fail(`flush of ${this.dir} made no progress in ${FLUSH_ROUNDS_MAX} rounds`);
  }

  async #doFlush(): Promise<void> {
    const target = this.logEndOffset;
    const truncations = this.#truncations;
    this.#flushCount++;
    const messages = this.#unflushedMessages;
    const dirty = this.#segments.filter((s) => s.dirty);
    for (const segment of dirty) {
      segment.dirty = false;
      segment.writeIndexes();
    }
    const syncDirectory = this.#dirNeedsSync;
    this.#dirNeedsSync = false;
    try {
      await Promise.all(dirty.map((s) => s.sync()));
      if (syncDirectory) await syncDir(this.dir);
      await this.#epochWrite;
    } catch (error) {
      this.#failure = error as Error;
      throw error;
    }
    if (truncations === this.#truncations) {
      this.#recoveryPoint = Math.max(this.#recoveryPoint, Math.min(target, this.logEndOffset));
    }
    this.#unflushedMessages = Math.max(0, this.#unflushedMessages - messages);
    this.#lastFlushMs = Date.now();
  }

  #persistEpochs(): void {
    const filePath = path.join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE);
    this.#epochWrite = this.#epochWrite.then(() =>
      writeFileAtomic(filePath, formatLeaderEpochCheckpoint(this.#epochs.entries()))
    );
    this.#epochWrite.catch((error) => {
      this.#failure ??= error as Error;
    });
  }

  // ---------------------------------------------------------------- reads

  async read(fetchOffset: number, options: ReadOptions): Promise<ReadResult> {
    this.#checkUsable();
    // A segment deleted or replaced while its bytes were being read is planned again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const plan = this.#planRead(fetchOffset, options);
      if ("result" in plan) return plan.result;
      const { segment, position, length } = plan;
      // Recent bytes of the active segment are in the page cache: read them at once. Anything
      // older may need the disk, so it is read off the event loop (issue #13).
      const nowMs = Date.now();
      const read = {
        active: segment === this.#active,
        bytesFromEnd: segment.sizeBytes - position,
        length,
      };
      let bytes: Uint8Array | null;
      if (this.#readPlacement.readSync(segment, read, nowMs)) {
        const startMs = performance.now();
        bytes = segment.readBytes(position, length, options.buffers);
        this.#readPlacement.observeSyncRead(segment, performance.now() - startMs, nowMs);
      } else {
        bytes = await segment.readBytesAsync(position, length, options.buffers);
      }
      if (bytes === null) continue;
      return {
        records: bytes.subarray(0, wholeBatchesBelow(bytes, plan.bound)),
        firstOffset: plan.firstOffset,
        logStartOffset: plan.logStartOffset,
        logEndOffset: plan.logEndOffset,
      };
    }
    return {
      records: new Uint8Array(0),
      firstOffset: fetchOffset,
      logStartOffset: this.#logStartOffset,
      logEndOffset: this.logEndOffset,
    };
  }

  /** Where the batches to return start and how many bytes to read, or the (empty) answer. */
  #planRead(fetchOffset: number, options: ReadOptions):
    | { result: ReadResult }
    | {
      segment: LogSegment;
      position: number;
      length: number;
      bound: number;
      firstOffset: number;
      logStartOffset: number;
      logEndOffset: number;
    } {
    const logStartOffset = this.#logStartOffset;
    const logEndOffset = this.logEndOffset;
    if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) {
      throw new LogError(
        LogErrorCode.OFFSET_OUT_OF_RANGE,
        `Offset ${fetchOffset} is outside [${logStartOffset}, ${logEndOffset}] of ${this.dir}.`,
      );
    }
    const empty = {
      result: {
        records: new Uint8Array(0),
        firstOffset: fetchOffset,
        logStartOffset,
        logEndOffset,
      },
    };
    const bound = Math.min(options.maxOffset ?? logEndOffset, logEndOffset);
    if (fetchOffset >= bound) return empty;
    const minOne = options.minOneMessage ?? true;
    for (let i = this.#segmentIndexFor(fetchOffset); i < this.#segments.length; i++) {
      const segment = this.#segments[i]!;
      const first = segment.findBatch(fetchOffset);
      if (first === null) continue;
      if (first.lastOffset >= bound) return empty;
      if (!minOne && first.sizeBytes > options.maxBytes) return empty;
      const wanted = Math.max(options.maxBytes, minOne ? first.sizeBytes : 0);
      return {
        segment,
        position: first.position,
        length: Math.min(wanted, segment.sizeBytes - first.position),
        bound,
        firstOffset: first.baseOffset,
        logStartOffset,
        logEndOffset,
      };
    }
    return empty;
  }

  /** Index of the last segment whose base offset <= `offset` (0 when none). */
  #segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null {
    for (const segment of this.#segments) {
      if (segment.shape.maxTimestampSoFar < timestampMs) continue;
      const fromOffset = Math.max(
        segment.timeIndex.lookup(timestampMs).offset,
        this.#logStartOffset,
      );
      const start = segment.offsetIndex.lookup(fromOffset).position;
      let found: TimestampAndOffset | null = null;
      segment.walkHeaders(start, (h) => {
        if (h.lastOffset < this.#logStartOffset) return true;
        // A lying header (max < first timestamp, written before issue 16) is checked by its records.
        const bytes = untrustedMaxTimestamp(h) ? segment.readBytes(h.position, h.sizeBytes) : null;
        const maxTimestamp = bytes === null ? h.maxTimestamp : maxTimestampOfRecords(bytes);
        if (maxTimestamp < timestampMs) return true;
        found = exactOffsetForTimestamp(
          bytes ?? segment.readBytes(h.position, h.sizeBytes),
          timestampMs,
          this.#logStartOffset,
          h.leaderEpoch,
        );
        return false;
      });
      if (found !== null) return found;
    }
    return null;
  }

  maxTimestampAndOffset(): TimestampAndOffset | null {
    let best: TimestampAndOffset | null = null;
    for (const segment of this.#segments) {
      const { maxTimestampSoFar, offsetOfMaxTimestampSoFar } = segment.shape;
      if (maxTimestampSoFar < 0 || offsetOfMaxTimestampSoFar < this.#logStartOffset) continue;
      if (best === null || maxTimestampSoFar > best.timestamp) {
        best = {
          timestamp: maxTimestampSoFar,
          offset: offsetOfMaxTimestampSoFar,
          leaderEpoch: this.#epochs.epochForOffset(offsetOfMaxTimestampSoFar) ?? -1,
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
    this.#checkUsable();
    const latest = this.#epochs.latestEpoch();
    if (latest !== null && epoch <= latest) return;
    if (this.#epochs.assign(epoch, offset)) this.#persistEpochs();
  }

  // ---------------------------------------------------------------- truncation and retention

  async truncateTo(offset: number): Promise<boolean> {
    this.#checkUsable();
    assert(Number.isSafeInteger(offset) && offset >= 0, `bad truncation offset ${offset}`);
    if (offset >= this.logEndOffset) {
      // Still drop epochs that start at the log end: a broker that led an epoch without
      // appending keeps its start entry, which a new leader does not know (Kafka does the same).
      if (this.#epochs.truncateFromEnd(this.logEndOffset)) this.#persistEpochs();
      return false;
    }
    if (offset <= this.#segments[0]!.baseOffset) {
      await this.truncateFullyAndStartAt(offset);
      return true;
    }
    this.#truncations++;
    while (this.#segments.length > 1 && this.#active.baseOffset > offset) {
      this.#segments.pop()!.deleteSync();
      this.#dirNeedsSync = true;
    }
    const active = this.#active;
    active.indexesNeedSync = false;
    active.truncateTo(offset);
    this.#jitterActive(); // truncation rebuilt its shape
    this.#logStartOffset = Math.min(this.#logStartOffset, this.logEndOffset);
    this.#recoveryPoint = Math.min(this.#recoveryPoint, this.logEndOffset);
    // Records appended after the truncation were never cleaned.
    this.#firstDirtyOffset = Math.min(this.#firstDirtyOffset, this.logEndOffset);
    if (this.#epochs.truncateFromEnd(this.logEndOffset)) this.#persistEpochs();
    await this.#flushUpTo(this.logEndOffset);
    return true;
  }

  async truncateFullyAndStartAt(offset: number): Promise<void> {
    this.#checkUsable();
    assert(Number.isSafeInteger(offset) && offset >= 0, `bad start offset ${offset}`);
    this.#truncations++;
    for (const segment of this.#segments.splice(0)) segment.deleteSync();
    this.#segments.push(
      LogSegment.create(this.dir, offset, this.config, Date.now(), this.#handles),
    );
    this.#jitterActive();
    this.#dirNeedsSync = true;
    this.#logStartOffset = offset;
    this.#recoveryPoint = offset;
    this.#firstDirtyOffset = offset;
    this.#latestDeleteHorizonMs = null;
    this.#unflushedMessages = 0;
    if (this.#epochs.clear()) this.#persistEpochs();
    await this.#flushUpTo(offset);
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    this.#checkUsable();
    if (offset > this.logEndOffset || offset < 0) {
      throw new LogError(
        LogErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records before ${offset}: the log of ${this.dir} ends at ${this.logEndOffset}.`,
      );
    }
    if (offset <= this.#logStartOffset) return this.#logStartOffset;
    this.#logStartOffset = offset;
    if (this.#epochs.truncateFromStart(offset)) this.#persistEpochs();
    await this.deleteOldSegments({
      nowMs: Date.now(),
      highWatermark: offset,
      startOffsetOnly: true,
    });
    return this.#logStartOffset;
  }

  async deleteOldSegments(
    options: RetentionOptions & { startOffsetOnly?: boolean },
  ): Promise<number> {
    this.#checkUsable();
    const count = deletableSegmentCount(
      this.#segments.map((s) => ({
        baseOffset: s.baseOffset,
        sizeBytes: s.sizeBytes,
        largestTimestampMs: s.largestTimestampMs,
      })),
      {
        config: this.config,
        nowMs: options.nowMs,
        logStartOffset: this.#logStartOffset,
        logEndOffset: this.logEndOffset,
        highWatermark: Math.min(options.highWatermark ?? this.logEndOffset, this.logEndOffset),
        startOffsetOnly: options.startOffsetOnly ?? false,
      },
    );
    if (count === 0) return 0;
    // Deleting the active segment: roll an empty one at the log end first (Kafka does too).
    if (count === this.#segments.length) this.#roll(this.logEndOffset, options.nowMs);
    // Renamed now, unlinked off the event loop (a 1 GiB segment's unlink blocks for a while).
    const deletions = this.#segments.splice(0, count).map((segment) => segment.deleteAsync());
    this.#dirNeedsSync = true;
    this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments[0]!.baseOffset);
    if (this.#epochs.truncateFromStart(this.#logStartOffset)) this.#persistEpochs();
    await Promise.all(deletions);
    await this.#epochWrite;
    return count;
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Compacts the inactive segments (`cleanup.policy` compact): see `log_cleaner.ts`. Appends and
   * reads go on meanwhile; cleaned segments are written as `.cleaned`, renamed to `.swap` and
   * swapped in at once, and a crash mid-swap is completed by the next open.
   */
  /**
   * Where compaction's dirty section starts (Kafka's cleaner checkpoint): everything below was
   * cleaned, with every key of it unique then.
   */
  get firstDirtyOffset(): number {
    return Math.min(Math.max(this.#firstDirtyOffset, this.#logStartOffset), this.logEndOffset);
  }

  /**
   * Compacts the log when it is due, as Kafka's cleaner picks logs: the dirty share of the
   * cleanable segments (inactive, below the high watermark and last stable offset, older than
   * `min.compaction.lag.ms`) exceeds `min.cleanable.dirty.ratio`, or a dirty record is older than
   * `max.compaction.lag.ms` (KIP-354), or the latest delete horizon a cleaning stamped has passed
   * (KIP-534: its tombstones can go). A run builds the key map from the dirty section only and
   * rewrites the cleanable segments up to its end; the dirty section then starts there. A log
   * that is not due is not read.
   */
  async compact(options: CompactOptions): Promise<CompactResult> {
    this.#checkUsable();
    const result = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    if (!this.config.cleanupPolicy.compact || this.#compacting) return result;
    this.#compacting = true;
    try {
      const limits = this.cleanerLimits?.() ?? null;
      this.#cleanerAborted = abortedBatchTest(limits?.abortedTransactions ?? []);
      const bound = Math.min(options.highWatermark ?? Infinity, limits?.endOffset ?? Infinity);
      const cleanable = this.#cleanableSegments({
        ...options,
        highWatermark: Number.isFinite(bound) ? bound : undefined,
      });
      if (cleanable.length === 0) return result;
      const firstDirty = this.firstDirtyOffset;
      const dirty = cleanable.filter((s) => s.nextOffset > firstDirty);
      if (!this.#cleaningDue(cleanable, dirty, options.nowMs)) return result;
      const last = cleanable[cleanable.length - 1]!;
      const cleanableEnd = this.#segments[this.#segments.indexOf(last) + 1]?.baseOffset ??
        last.nextOffset;
      const map = new OffsetMap(options.offsetMapBytesMax ?? OFFSET_MAP_BYTES_DEFAULT);
      const throttle = options.ioThrottle ??
        new IoThrottle(options.ioBytesPerSecond ?? Number.MAX_VALUE);
      const mapEnd = dirty.length === 0
        ? cleanableEnd
        : await this.#buildOffsetMap(dirty, map, throttle);
      const horizons = { latestMs: null as number | null };
      for (const group of groupBySize(cleanable, this.config.segmentBytes)) {
        if (group[0]!.baseOffset >= mapEnd) break;
        await this.#cleanGroup(group, map, mapEnd, options.nowMs, result, horizons, throttle);
      }
      this.#firstDirtyOffset = Math.max(this.#firstDirtyOffset, mapEnd);
      this.#latestDeleteHorizonMs = horizons.latestMs;
      return result;
    } finally {
      this.#compacting = false;
    }
  }

  /** Kafka's `grabFilthiestCompactedLog` tests for one log. */
  #cleaningDue(
    cleanable: readonly LogSegment[],
    dirty: readonly LogSegment[],
    nowMs: number,
  ): boolean {
    const horizon = this.#latestDeleteHorizonMs;
    if (horizon !== null && horizon <= nowMs) return true;
    if (dirty.length === 0) return false;
    const dirtyBytes = dirty.reduce((n, s) => n + s.sizeBytes, 0);
    const totalBytes = cleanable.reduce((n, s) => n + s.sizeBytes, 0);
    if (dirtyBytes > 0 && dirtyBytes / totalBytes > this.config.minCleanableDirtyRatio) return true;
    // KIP-354: a dirty record waiting longer than max.compaction.lag.ms is compacted now.
    const maxLagMs = this.config.maxCompactionLagMs;
    if (maxLagMs >= Number.MAX_SAFE_INTEGER) return false;
    return dirty.some((s) => {
      const firstMs = s.firstBatchTimestampMs();
      return firstMs >= 0 && firstMs < nowMs - Math.max(0, maxLagMs);
    });
  }

  #cleanableSegments(options: CompactOptions): LogSegment[] {
    const highWatermark = Math.min(options.highWatermark ?? this.logEndOffset, this.logEndOffset);
    const lagLimitMs = options.nowMs - this.config.minCompactionLagMs;
    const cleanable: LogSegment[] = [];
    for (let i = 0; i + 1 < this.#segments.length; i++) {
      const segment = this.#segments[i]!;
      if (this.#segments[i + 1]!.baseOffset > highWatermark) break;
      if (this.config.minCompactionLagMs > 0 && segment.largestTimestampMs > lagLimitMs) break;
      cleanable.push(segment);
    }
    return cleanable;
  }

  /** Pass 1 over the dirty segments: latest offset per key; returns where the map ends. */
  async #buildOffsetMap(
    segments: readonly LogSegment[],
    map: OffsetMap,
    throttle: IoThrottle,
  ): Promise<number> {
    const last = segments[segments.length - 1]!;
    const mapEnd = this.#segments[this.#segments.indexOf(last) + 1]?.baseOffset ??
      last.nextOffset;
    let batches = 0;
    for (const segment of segments) {
      // Old segments may not be in the page cache: read off the event loop.
      for await (const { header, bytes } of segment.readBatchesAsync()) {
        if (segment.closed) return Math.min(mapEnd, segment.baseOffset);
        if (!addBatchToMap(map, bytes, this.#cleanerAborted)) {
          this.#warn(`Offset map of ${this.dir} is full at offset ${header.baseOffset}`);
          return header.baseOffset;
        }
        await throttle.observe(bytes.length);
        if (++batches % CLEANER_YIELD_BATCHES === 0) await yieldToEventLoop();
      }
    }
    return mapEnd;
  }

  /**
   * Pass 2 for one group of segments: write the cleaned batches into a `.cleaned` segment (log,
   * `.index` and `.timeindex`, built as Kafka's cleaner builds them), rename the three to `.swap`
   * (the log last: a `.log.swap` means its indexes are complete), then swap them in.
   */
  async #cleanGroup(
    group: readonly LogSegment[],
    map: OffsetMap,
    mapEnd: number,
    nowMs: number,
    result: CompactResult,
    horizons: { latestMs: number | null },
    throttle: IoThrottle,
  ): Promise<void> {
    const base = group[0]!.baseOffset;
    const cleaned = LogSegment.createWithSuffix(this.dir, base, {
      config: this.config,
      nowMs,
      suffix: CLEANED_SUFFIX,
      handles: this.#handles,
    });
    const pass = {
      nowMs,
      deleteRetentionMs: this.config.deleteRetentionMs,
      isAborted: this.#cleanerAborted,
    };
    let removed = 0;
    let batches = 0;
    let complete = false;
    try {
      for (const segment of group) {
        result.bytesBefore += segment.sizeBytes;
        for await (const { bytes } of segment.readBatchesAsync()) {
          if (segment.closed) return; // truncated or deleted meanwhile; the .cleaned files go
          const out = cleanBatch(bytes, map, mapEnd, pass);
          if (out.kind !== "kept") removed += out.removed;
          if (out.kind !== "dropped") {
            appendCleaned(cleaned, out.bytes, this.config);
            const horizonMs = deleteHorizonOf(out.bytes);
            if (horizonMs !== null && horizonMs > (horizons.latestMs ?? -Infinity)) {
              horizons.latestMs = horizonMs;
            }
          }
          await throttle.observe(bytes.length + (out.kind === "dropped" ? 0 : out.bytes.length));
          if (++batches % CLEANER_YIELD_BATCHES === 0) await yieldToEventLoop();
        }
      }
      cleaned.onBecomeInactive();
      cleaned.dirty = false;
      await cleaned.sync();
      await writeCleanedTxnIndex(this.dir, group, base);
      complete = true;
    } finally {
      if (complete) cleaned.close();
      else cleaned.deleteSync();
    }
    if (!this.#stillInactive(group)) {
      cleaned.deleteSync();
      return;
    }
    renameSegmentFiles(cleaned, CLEANED_SUFFIX, SWAP_SUFFIX);
    await syncDir(this.dir);
    if (!this.#stillInactive(group)) {
      removeSegmentFiles(this.dir, base, SWAP_SUFFIX);
      return;
    }
    this.#swapIn(group, base, nowMs);
    await syncDir(this.dir);
    const swapped = this.#segments.find((s) => s.baseOffset === base)!;
    result.bytesAfter += swapped.sizeBytes;
    result.segmentsCleaned += group.length;
    result.recordsRemoved += removed;
  }

  #stillInactive(group: readonly LogSegment[]): boolean {
    return group.every((s) => !s.closed && this.#segments.includes(s) && s !== this.#active);
  }

  /** Synchronously replaces `group` by the `.swap` files (old files go, the swap files take their names). */
  #swapIn(group: readonly LogSegment[], base: number, nowMs: number): void {
    const at = this.#segments.indexOf(group[0]!);
    for (const segment of group) segment.deleteSync();
    renameSwapFiles(this.dir, base);
    const { segment, indexProblems } = LogSegment.open(
      this.dir,
      base,
      this.config,
      nowMs,
      this.#handles,
    );
    if (indexProblems.length > 0) {
      for (const problem of indexProblems) this.#warn(`Rebuilding index ${problem}`);
      segment.recover(this.config, this.#warn, () => {});
      segment.onBecomeInactive();
    } else {
      segment.loadNextOffset();
    }
    this.#segments.splice(at, group.length, segment);
  }

  // ---------------------------------------------------------------- closing

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#failure === null) {
      this.#active.onBecomeInactive();
      await this.flush();
      await this.#epochWrite;
    }
    this.#closed = true;
    for (const segment of this.#segments) segment.close();
  }

  /** Closes without flushing (tests simulate a crash with it). */
  closeAbruptly(): void {
    this.#closed = true;
    for (const segment of this.#segments) segment.close();
  }
}

/** Options of {@link FileLog.compact}. */
export interface CompactOptions {
  nowMs: number;
  /** Only segments wholly below this offset are cleaned (default: the log end). */
  highWatermark?: number;
  /** Memory bound of the offset map (default 64 MiB, Kafka's log.cleaner.dedupe.buffer.size / threads). */
  offsetMapBytesMax?: number;
  /** `log.cleaner.io.max.bytes.per.second`: bytes read and written per second (default: no bound). */
  ioBytesPerSecond?: number;
  /** The throttle itself, instead of `ioBytesPerSecond` (tests give it their clock). */
  ioThrottle?: IoThrottle;
}

/** See {@link FileLog.cleanerLimits}. */
export interface CleanerLimits {
  /** Cleaning covers only segments wholly below this offset (the last stable offset). */
  endOffset: number;
  /** Aborted transactions: their batches are dropped, never kept as a key's latest value. */
  abortedTransactions: readonly { producerId: number; firstOffset: number; lastOffset: number }[];
}

/** What a compaction run did. */
export interface CompactResult {
  segmentsCleaned: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

const OFFSET_MAP_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Kafka's suffixes: files of a segment being cleaned, and of one waiting to be swapped in. */
const CLEANED_SUFFIX = ".cleaned";
const SWAP_SUFFIX = ".swap";
/** A segment's files; `.txnindex` is optional (only segments holding ABORT markers have one). */
const SEGMENT_FILE_KINDS = ["index", "timeindex", "txnindex", "log"] as const;

/** Appends one cleaned batch (its offsets kept) to the cleaner's output segment, indexing it. */
function appendCleaned(out: LogSegment, bytes: Uint8Array, config: LogConfig): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const baseOffset = readInt64Number(view, 0, "baseOffset");
  out.append(bytes, [{
    pos: 0,
    sizeBytes: bytes.length,
    baseOffset,
    lastOffset: baseOffset + view.getInt32(23),
    maxTimestamp: readInt64Number(view, 35, "maxTimestamp"),
  }], config.indexIntervalBytes);
}

/**
 * The cleaner keeps every record of a transaction (it drops no aborted data), so the aborted
 * transactions of the group's segments stay true of the cleaned one: their `.txnindex` entries
 * are carried over, concatenated in offset order, into `<base>.txnindex.cleaned` (synced; absent
 * when the group has none), which is renamed and swapped in with the other files.
 */
async function writeCleanedTxnIndex(
  dir: string,
  group: readonly LogSegment[],
  base: number,
): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const segment of group) {
    try {
      parts.push(await Deno.readFile(segment.logPath.replace(/\.log$/, ".txnindex")));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const size = parts.reduce((sum, p) => sum + p.length, 0);
  if (size === 0) return;
  const merged = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    merged.set(p, at);
    at += p.length;
  }
  const file = await Deno.open(
    path.join(dir, `${offsetFileStem(base)}.txnindex${CLEANED_SUFFIX}`),
    { write: true, create: true, truncate: true },
  );
  try {
    await writeAll(file, merged);
    await file.syncData();
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/**
 * Renames a closed segment's files from one suffix to another, the log last (a segment's
 * `.txnindex` is optional: renamed when present).
 */
function renameSegmentFiles(segment: LogSegment, from: string, to: string): void {
  const txnIndex = segment.logPath.slice(0, segment.logPath.length - from.length)
    .replace(/\.log$/, `.txnindex${from}`);
  try {
    Deno.renameSync(txnIndex, txnIndex.slice(0, txnIndex.length - from.length) + to);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const file of [segment.offsetIndex.filePath, segment.timeIndex.filePath, segment.logPath]) {
    Deno.renameSync(file, file.slice(0, file.length - from.length) + to);
  }
}

function removeSegmentFiles(dir: string, base: number, suffix: string): void {
  const stem = path.join(dir, offsetFileStem(base));
  for (const kind of SEGMENT_FILE_KINDS) {
    try {
      Deno.removeSync(`${stem}.${kind}${suffix}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** Gives the `.swap` files of `base` their final names (an index swap may be missing: rebuilt). */
function renameSwapFiles(dir: string, base: number): void {
  const stem = path.join(dir, offsetFileStem(base));
  for (const kind of SEGMENT_FILE_KINDS) {
    try {
      Deno.renameSync(`${stem}.${kind}${SWAP_SUFFIX}`, `${stem}.${kind}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound) || kind === "log") throw error;
    }
  }
}
const CLEANER_YIELD_BATCHES = 64;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Consecutive segments grouped so that each group stays within `segmentBytes` (Kafka does too). */
function groupBySize(segments: readonly LogSegment[], segmentBytes: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let current: LogSegment[] = [];
  let size = 0;
  for (const segment of segments) {
    if (current.length > 0 && size + segment.sizeBytes > segmentBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(segment);
    size += segment.sizeBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Assigns offsets, the leader epoch and LogAppendTime in place. */
function assignOffsets(
  bytes: Uint8Array,
  valid: readonly ValidatedBatch[],
  firstOffset: number,
  leaderEpoch: number,
  appendTimeMs: number,
): PlacedBatch[] {
  let next = firstOffset;
  return valid.map(({ pos, sizeBytes, header }) => {
    setBaseOffset(bytes, pos, next);
    setPartitionLeaderEpoch(bytes, pos, leaderEpoch);
    if (appendTimeMs >= 0) setLogAppendTime(bytes, pos, appendTimeMs);
    const batch = {
      pos,
      sizeBytes,
      baseOffset: next,
      lastOffset: next + header.lastOffsetDelta,
      maxTimestamp: appendTimeMs >= 0 ? appendTimeMs : header.maxTimestamp,
    };
    next = batch.lastOffset + 1;
    return batch;
  });
}

/** Length of the prefix of whole batches in `bytes` whose last offsets are below `bound`. */
export function wholeBatchesBelow(bytes: Uint8Array, bound: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = 0;
  for (let steps = 0; steps < bytes.length && end + 27 <= bytes.length; steps++) {
    const size = batchSizeAt(bytes, end);
    if (size === null || end + size > bytes.length) break;
    const lastOffset = readInt64Number(view, end, "baseOffset") + view.getInt32(end + 23);
    if (lastOffset >= bound) break;
    end += size;
  }
  return end;
}

function cloneShape(shape: SegmentShape): SegmentShape {
  return Object.assign(new SegmentShape(shape.baseOffset, shape.createdMs), shape);
}

/** Walks batch headers of a file to find its next offset (used for `.swap` files). */
export function nextOffsetOfFile(filePath: string, baseOffset: number): number {
  const file = Deno.openSync(filePath, { read: true });
  try {
    const size = file.statSync().size;
    const header = new Uint8Array(27);
    const view = new DataView(header.buffer);
    let pos = 0;
    let next = baseOffset;
    for (let steps = 0; pos + 27 <= size && steps < size; steps++) {
      readAtSync(file, pos, header);
      const batchLength = view.getInt32(8);
      if (batchLength < 49 || pos + LOG_OVERHEAD_BYTES + batchLength > size) break;
      next = readInt64Number(view, 0, "baseOffset") + view.getInt32(23) + 1;
      pos += LOG_OVERHEAD_BYTES + batchLength;
    }
    return next;
  } finally {
    file.close();
  }
}
