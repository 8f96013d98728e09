/**
 * All partition logs of one log directory (Kafka's `LogManager`, one dir): opens them in parallel
 * at start, creates and deletes them, keeps the per-dir checkpoints
 * (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`) and the clean shutdown
 * marker (`.kafka_cleanshutdown`), and runs periodic flush / retention / checkpoint tasks.
 *
 * Descriptors: the logs share one bounded handle cache (`handle_cache.ts`; the process-wide one
 * unless {@link LogManagerOptions.handleCache} is given), so an idle partition holds none. A log
 * that cannot be opened for want of descriptors fails its open with a `LogError`
 * (KAFKA_STORAGE_ERROR); `storage/fd_limit.ts` reads `ulimit -n` for a start-up warning.
 *
 * @module
 */
import * as path from "node:path";
import { removeIfExists, syncDir, writeFileAtomic } from "../fs.ts";
import {
  CheckpointFormatError,
  partitionKey,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from "./checkpoint_file.ts";
import { FileLog } from "./file_log.ts";
import type { HandleCache } from "./handle_cache.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import type { LogWarn } from "./log_segment.ts";
import { LogError, LogErrorCode } from "./log_error.ts";

/** `__cluster_metadata-0`: kept in a log dir but owned by the raft replica, never by this manager. */
const METADATA_PARTITION_DIR = "__cluster_metadata-0";

export const RECOVERY_POINT_CHECKPOINT_FILE = "recovery-point-offset-checkpoint";
export const LOG_START_OFFSET_CHECKPOINT_FILE = "log-start-offset-checkpoint";
export const CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown";
/** Kafka's per-dir file of where each compacted log's dirty section starts. */
export const CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";

const PARTITION_DIR_PATTERN = /^(.+)-(\d+)$/;
const DELETE_DIR_PATTERN = /^.+-\d+\.[0-9a-f]{32}-delete$/;

/** Options of {@link LogManager.open}. */
export interface LogManagerOptions {
  logDir: string;
  /** Config of logs that `configFor` does not override (default: Kafka's defaults). */
  defaultConfig?: LogConfig;
  /** Per-topic config, e.g. from topic configs in the metadata image. */
  configFor?: (topic: string) => LogConfig | undefined;
  /** Logs opened at once while starting (default 8). */
  openConcurrency?: number;
  warn?: LogWarn;
  /** Cache of segment and index file handles (default: the process-wide one). */
  handleCache?: HandleCache;
  /**
   * Told about every failed background task (flush, checkpoint, retention, compaction) besides
   * the warning, so the owner can take the directory offline on a disk error (KIP-112).
   */
  onTaskFailure?: (error: unknown) => void;
}

/** Intervals of the background tasks. */
export interface BackgroundTaskOptions {
  /** `log.flush.offset.checkpoint.interval.ms` (default 60 000). */
  checkpointIntervalMs?: number;
  /** `log.retention.check.interval.ms` (default 300 000). */
  retentionCheckIntervalMs?: number;
  /** How often `flush.ms` deadlines are checked (default 1 000). */
  flushCheckIntervalMs?: number;
  /** `log.cleaner.backoff.ms`: pause between compaction runs (default 15 000). */
  cleanerBackoffMs?: number;
  /** `log.cleaner.enable` (default true): false runs no compaction at all. */
  cleanerEnabled?: boolean;
  /**
   * Memory bound of one cleaning's key map: `log.cleaner.dedupe.buffer.size` over
   * `log.cleaner.threads` (default: `FileLog.compact`'s).
   */
  cleanerOffsetMapBytes?: number;
  /** `log.cleaner.io.max.bytes.per.second`, read at every run (default: no bound). */
  cleanerIoBytesPerSecond?: () => number;
}

/** A topic partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * The logs of one log directory.
 *
 * @example
 * ```ts
 * import { LogManager } from "./log_manager.ts";
 * const dir = await Deno.makeTempDir();
 * const manager = await LogManager.open({ logDir: dir });
 * const log = await manager.createLog({ topic: "orders", partition: 0 });
 * await manager.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LogManager {
  readonly logDir: string;
  #options: LogManagerOptions;
  #logs = new Map<string, { tp: TopicPartition; log: FileLog }>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #warn: LogWarn;
  #checkpointing: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: LogManagerOptions) {
    this.logDir = options.logDir;
    this.#options = options;
    this.#warn = options.warn ?? ((line) => console.warn(line));
  }

  /** Opens every partition log in `logDir`, recovering them if the last shutdown was unclean. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options);
    await manager.#load();
    return manager;
  }

  #configFor(topic: string): LogConfig {
    return this.#options.configFor?.(topic) ?? this.#options.defaultConfig ?? logConfig();
  }

  async #readCheckpoint(name: string): Promise<Map<string, number> | null> {
    try {
      return await readOffsetCheckpoint(path.join(this.logDir, name));
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw error;
      this.#warn(`${error.message} Ignoring it.`);
      return null;
    }
  }

  async #load(): Promise<void> {
    await Deno.mkdir(this.logDir, { recursive: true });
    const cleanMarker = path.join(this.logDir, CLEAN_SHUTDOWN_FILE);
    const hadCleanShutdown = await exists(cleanMarker);
    const recoveryPoints = await this.#readCheckpoint(RECOVERY_POINT_CHECKPOINT_FILE);
    const startOffsets = await this.#readCheckpoint(LOG_START_OFFSET_CHECKPOINT_FILE) ?? new Map();
    const cleanerPoints = await this.#readCheckpoint(CLEANER_CHECKPOINT_FILE) ?? new Map();
    const found: TopicPartition[] = [];
    for await (const entry of Deno.readDir(this.logDir)) {
      if (!entry.isDirectory) continue;
      if (DELETE_DIR_PATTERN.test(entry.name)) {
        await Deno.remove(path.join(this.logDir, entry.name), { recursive: true });
        this.#warn(`Removed partition directory ${entry.name} left from an unfinished delete`);
        continue;
      }
      // The metadata partition belongs to the raft replica (node/metadata_log.ts), as in Kafka.
      if (entry.name === METADATA_PARTITION_DIR) continue;
      const m = PARTITION_DIR_PATTERN.exec(entry.name);
      if (m) found.push({ topic: m[1]!, partition: Number(m[2]) });
    }
    const concurrency = Math.max(1, this.#options.openConcurrency ?? 8);
    let next = 0;
    const worker = async () => {
      while (next < found.length) {
        const tp = found[next++]!;
        const key = partitionKey(tp.topic, tp.partition);
        const log = await FileLog.open({
          dir: path.join(this.logDir, key),
          config: this.#configFor(tp.topic),
          recoveryPoint: hadCleanShutdown && recoveryPoints !== null
            ? recoveryPoints.get(key) ?? 0
            : recoveryPoints?.get(key) ?? 0,
          hadCleanShutdown: hadCleanShutdown && recoveryPoints !== null,
          logStartOffset: startOffsets.get(key),
          firstDirtyOffset: cleanerPoints.get(key),
          warn: this.#warn,
          handleCache: this.#options.handleCache,
        });
        this.#logs.set(key, { tp, log });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, found.length) }, worker));
    if (hadCleanShutdown) {
      await removeIfExists(cleanMarker);
      await syncDir(this.logDir);
    }
  }

  /** The log of a partition, if hosted here. */
  get(tp: TopicPartition): FileLog | undefined {
    return this.#logs.get(partitionKey(tp.topic, tp.partition))?.log;
  }

  /** Every hosted partition and its log. */
  all(): { tp: TopicPartition; log: FileLog }[] {
    return [...this.#logs.values()];
  }

  /** Returns the partition's log, creating it (with `topicId` in partition.metadata) if needed. */
  async createLog(
    tp: TopicPartition,
    options: { topicId?: string; config?: LogConfig } = {},
  ): Promise<FileLog> {
    const key = partitionKey(tp.topic, tp.partition);
    const existing = this.#logs.get(key);
    if (existing !== undefined) return existing.log;
    if (this.#closed) {
      throw new LogError(
        LogErrorCode.KAFKA_STORAGE_ERROR,
        `Cannot create a log in ${this.logDir}: the directory is closed or has failed.`,
      );
    }
    const log = await FileLog.open({
      dir: path.join(this.logDir, key),
      config: options.config ?? this.#configFor(tp.topic),
      topicId: options.topicId,
      warn: this.#warn,
      handleCache: this.#options.handleCache,
    });
    this.#logs.set(key, { tp, log });
    return log;
  }

  /**
   * Deletes a partition log: closes it, renames its directory to
   * `<topic>-<partition>.<uuid>-delete` (durably), then removes it. A crash in between leaves a
   * `-delete` directory that the next start removes.
   */
  async deleteLog(tp: TopicPartition): Promise<boolean> {
    const key = partitionKey(tp.topic, tp.partition);
    const entry = this.#logs.get(key);
    if (entry === undefined) return false;
    this.#logs.delete(key);
    await entry.log.close();
    const doomed = path.join(
      this.logDir,
      `${key}.${crypto.randomUUID().replaceAll("-", "")}-delete`,
    );
    await Deno.rename(entry.log.dir, doomed);
    await syncDir(this.logDir);
    await Deno.remove(doomed, { recursive: true });
    await this.checkpoint();
    return true;
  }

  /** Writes the per-dir checkpoints (serialized; the latest state wins). */
  checkpoint(): Promise<void> {
    this.#checkpointing = this.#checkpointing.catch(() => {}).then(async () => {
      const logs = this.all();
      await writeOffsetCheckpoint(
        path.join(this.logDir, RECOVERY_POINT_CHECKPOINT_FILE),
        logs.map(({ tp, log }) => ({ ...tp, offset: log.recoveryPoint })),
      );
      await writeOffsetCheckpoint(
        path.join(this.logDir, LOG_START_OFFSET_CHECKPOINT_FILE),
        logs.map(({ tp, log }) => ({ ...tp, offset: log.logStartOffset })),
      );
      // Only an optimization: without it a compacted log is cleaned in full once more.
      await writeOffsetCheckpoint(
        path.join(this.logDir, CLEANER_CHECKPOINT_FILE),
        logs.filter(({ log }) => log.config.cleanupPolicy.compact)
          .map(({ tp, log }) => ({ ...tp, offset: log.firstDirtyOffset })),
      );
    });
    return this.#checkpointing;
  }

  /**
   * Runs a task on one log; an error is the task's only while the log is still hosted here (a
   * log deleted meanwhile fails with its files gone, which says nothing about the disk).
   */
  async #onLog<T>(entry: { tp: TopicPartition; log: FileLog }, work: () => Promise<T>, gone: T) {
    try {
      return await work();
    } catch (error) {
      if (this.#logs.get(partitionKey(entry.tp.topic, entry.tp.partition)) === entry) throw error;
      return gone;
    }
  }

  /** Applies retention to every log whose policy includes delete; returns segments deleted. */
  async runRetention(nowMs: number): Promise<number> {
    let deleted = 0;
    for (const entry of this.all()) {
      deleted += await this.#onLog(entry, () => entry.log.deleteOldSegments({ nowMs }), 0);
    }
    if (deleted > 0) await this.checkpoint();
    return deleted;
  }

  /**
   * Compacts every log whose policy includes compact and that is due (see `FileLog.compact`);
   * returns records removed. The cleaner checkpoint is written after a run that cleaned.
   */
  async runCleaner(
    nowMs: number,
    limits: { offsetMapBytesMax?: number; ioBytesPerSecond?: number } = {},
  ): Promise<number> {
    let removed = 0;
    let cleaned = 0;
    for (const entry of this.all()) {
      if (entry.log.config.cleanupPolicy.compact) {
        const compacted = () => entry.log.compact({ nowMs, ...limits });
        const none = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
        const result = await this.#onLog(entry, compacted, none);
        removed += result.recordsRemoved;
        cleaned += result.segmentsCleaned;
      }
    }
    if (cleaned > 0) await this.checkpoint();
    return removed;
  }

  /** Flushes logs whose `flush.ms` deadline passed. */
  async flushDue(nowMs: number): Promise<void> {
    await Promise.all(
      this.all().map((entry) => this.#onLog(entry, () => entry.log.flushIfDue(nowMs), undefined)),
    );
  }

  /** Starts periodic checkpoint, retention and flush tasks; `close()` stops them. */
  startBackgroundTasks(options: BackgroundTaskOptions = {}): void {
    const every = (ms: number, task: () => Promise<unknown>) => {
      let running = false;
      this.#timers.push(setInterval(() => {
        if (running || this.#closed) return;
        running = true;
        task().catch((error) => {
          this.#warn(`Background task failed: ${error}`);
          this.#options.onTaskFailure?.(error);
        }).finally(() => {
          running = false;
        });
      }, ms));
    };
    every(options.checkpointIntervalMs ?? 60_000, () => this.checkpoint());
    every(options.retentionCheckIntervalMs ?? 300_000, () => this.runRetention(Date.now()));
    every(options.flushCheckIntervalMs ?? 1_000, () => this.flushDue(Date.now()));
    if (options.cleanerEnabled ?? true) {
      every(
        options.cleanerBackoffMs ?? 15_000,
        () =>
          this.runCleaner(Date.now(), {
            offsetMapBytesMax: options.cleanerOffsetMapBytes,
            ioBytesPerSecond: options.cleanerIoBytesPerSecond?.(),
          }),
      );
    }
  }

  /**
   * Stops tasks, flushes and closes every log, writes checkpoints and the clean shutdown marker,
   * which records `brokerEpoch` (KIP-966: the next registration's PreviousBrokerEpoch proves the
   * shutdown was clean; -1 when the broker never registered).
   */
  async close(options: { brokerEpoch?: bigint } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.all(this.all().map(({ log }) => log.close()));
    await this.checkpoint();
    await writeFileAtomic(
      path.join(this.logDir, CLEAN_SHUTDOWN_FILE),
      new TextEncoder().encode(
        JSON.stringify({ version: 0, brokerEpoch: Number(options.brokerEpoch ?? -1n) }),
      ),
    );
  }

  /**
   * Gives the directory up after a disk failure (Kafka's `LogManager.handleLogDirFailure`): stops
   * the tasks and drops every log's handles without flushing, checkpointing or writing the clean
   * shutdown marker, so the next start recovers what is left.
   */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const { log } of this.all()) log.closeAbruptly();
    this.#logs.clear();
  }
}

/**
 * The broker epoch recorded by the clean shutdown marker of `logDir` (Kafka's
 * `CleanShutdownFileHandler`, `{"version":0,"brokerEpoch":N}`), or -1n when there is no marker or
 * it cannot be read. Read it before {@link LogManager.open}, which consumes the marker.
 *
 * @example
 * ```ts ignore
 * const epoch = await readCleanShutdownBrokerEpoch("/var/lib/kraftling/data"); // -1n after kill -9
 * ```
 */
export async function readCleanShutdownBrokerEpoch(logDir: string): Promise<bigint> {
  try {
    const text = await Deno.readTextFile(path.join(logDir, CLEAN_SHUTDOWN_FILE));
    const epoch = (JSON.parse(text) as { brokerEpoch?: unknown }).brokerEpoch;
    return typeof epoch === "number" && Number.isSafeInteger(epoch) && epoch >= 0
      ? BigInt(epoch)
      : -1n;
  } catch {
    // Absent (an unclean stop) or unreadable: either way no proof of a clean shutdown.
    return -1n;
  }
}

async function exists(filePath: string): Promise<boolean> {
  try {
    await Deno.stat(filePath);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
