/**
 * The partition log engine: segments, sparse indexes, recovery, retention and compaction, for data
 * partitions and `__cluster_metadata-0` alike.
 *
 * @example
 * ```ts
 * import { LogManager } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const manager = await LogManager.open({ logDir: dir });
 * const log = await manager.createLog({ topic: "orders", partition: 0 });
 * console.log(log.logEndOffset); // 0
 * await manager.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  type AppendOptions,
  type AppendResult,
  type FollowerAppendOptions,
  type PartitionLog,
  type ReadOptions,
  type ReadResult,
  type RetentionOptions,
  type TimestampAndOffset,
} from "./partition_log.ts";
export {
  type CompactOptions,
  type CompactResult,
  FileLog,
  type FileLogOptions,
  LEADER_EPOCH_CHECKPOINT_FILE,
  PARTITION_METADATA_FILE,
} from "./file_log.ts";
export { MemoryLog, type MemoryLogOptions } from "./memory_log.ts";
export {
  type BackgroundTaskOptions,
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  LogManager,
  type LogManagerOptions,
  RECOVERY_POINT_CHECKPOINT_FILE,
  type TopicPartition,
} from "./log_manager.ts";
export {
  type CleanupPolicy,
  DEFAULT_LOG_CONFIG,
  type FlushPolicy,
  flushPolicyOf,
  type LogConfig,
  logConfig,
  logConfigFromProperties,
} from "./log_config.ts";
export { LogError, LogErrorCode } from "./log_error.ts";
export {
  CachedFile,
  HandleCache,
  HANDLES_MAX_DEFAULT,
  isTooManyOpenFiles,
  sharedHandleCache,
} from "./handle_cache.ts";
export {
  type EpochEndOffset,
  LeaderEpochCache,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from "./leader_epoch_cache.ts";
export {
  CheckpointFormatError,
  type EpochEntry,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from "./checkpoint_file.ts";
