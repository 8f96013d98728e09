/**
 * Per-log configuration with Kafka's topic-level keys and defaults, plus the flush (durability)
 * policy derived from them.
 *
 * @module
 */

/** Which cleanup runs on a log (`cleanup.policy`). */
export interface CleanupPolicy {
  delete: boolean;
  compact: boolean;
}

/** Topic-level log settings, named after Kafka's keys with units. */
export interface LogConfig {
  /** `segment.bytes`: roll when the active segment would exceed this many bytes. */
  segmentBytes: number;
  /** `segment.ms`: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /**
   * `segment.jitter.ms`: each new segment rolls up to this much (a random share, below
   * `segment.ms`) early, so partitions created together do not roll together.
   */
  segmentJitterMs: number;
  /** `segment.index.bytes`: maximum offset/time index size; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** `index.interval.bytes`: bytes of log between sparse index entries. */
  indexIntervalBytes: number;
  /** `max.message.bytes`: largest batch accepted (whole batch including its 12-byte overhead). */
  maxMessageBytes: number;
  /** `retention.ms`: delete segments older than this; -1 keeps them forever. */
  retentionMs: number;
  /** `retention.bytes`: delete old segments while the log is larger than this; -1 = no limit. */
  retentionBytes: number;
  /** `cleanup.policy`. */
  cleanupPolicy: CleanupPolicy;
  /** `delete.retention.ms`: how long a tombstone survives compaction. */
  deleteRetentionMs: number;
  /** `min.compaction.lag.ms`: records younger than this are not compacted. */
  minCompactionLagMs: number;
  /** `min.cleanable.dirty.ratio`: compact when dirty bytes / total bytes exceed this. */
  minCleanableDirtyRatio: number;
  /**
   * `max.compaction.lag.ms` (KIP-354): a record waits at most this long to be compacted (the log
   * is cleaned whatever its dirty ratio, and a compacted log's active segment rolls by then).
   */
  maxCompactionLagMs: number;
  /** `message.timestamp.type`. */
  messageTimestampType: "CreateTime" | "LogAppendTime";
  /**
   * `message.timestamp.before.max.ms` (KIP-937): how far before the broker's clock a CreateTime
   * record's timestamp may lie. Kafka's default is Long.MAX_VALUE (no bound).
   */
  messageTimestampBeforeMaxMs: number;
  /** `message.timestamp.after.max.ms` (KIP-937): how far after the broker's clock it may lie. */
  messageTimestampAfterMaxMs: number;
  /**
   * `compression.type`: the codec batches are stored with ("producer": as the producer sent
   * them; "uncompressed", "gzip", "snappy", "lz4", "zstd": recompressed to it when they differ).
   */
  compressionType: TopicCompression;
  /** `compression.gzip.level` (KIP-390): -1 is the codec's default (6). */
  compressionGzipLevel: number;
  /** `compression.zstd.level` (KIP-390). */
  compressionZstdLevel: number;
  /**
   * `message.downconversion.enable`: consumers with Fetch v0-v3 (message formats v0/v1) get their
   * batches converted; false answers them UNSUPPORTED_VERSION, as Kafka does.
   */
  messageDownConversionEnable: boolean;
  /** `flush.messages`: null (the default) = every append is fsynced before it is acknowledged. */
  flushMessages: number | null;
  /** `flush.ms`: null (the default) = every append is fsynced before it is acknowledged. */
  flushMs: number | null;
}

/** The values of a topic's `compression.type`. */
export type TopicCompression = "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd";
const TOPIC_COMPRESSIONS: readonly TopicCompression[] = [
  "producer",
  "uncompressed",
  "gzip",
  "snappy",
  "lz4",
  "zstd",
];

const DAY_MS = 24 * 60 * 60 * 1000;
/** Java's Long.MAX_VALUE as the nearest double: "no bound" for the timestamp settings. */
const LONG_MAX = 9223372036854775807;

/** Kafka's defaults (flush settings replaced by our durable default). */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1048588,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: Object.freeze({ delete: true, compact: false }),
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
  maxCompactionLagMs: LONG_MAX,
  messageTimestampType: "CreateTime",
  messageTimestampBeforeMaxMs: LONG_MAX,
  messageTimestampAfterMaxMs: LONG_MAX,
  messageDownConversionEnable: true,
  compressionType: "producer",
  compressionGzipLevel: -1,
  compressionZstdLevel: 3,
  flushMessages: null,
  flushMs: null,
});

/**
 * Kafka's defaults with `overrides` applied.
 *
 * @example
 * ```ts
 * import { logConfig } from "./log_config.ts";
 * const config = logConfig({ segmentBytes: 1024 * 1024 });
 * ```
 */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

/**
 * How appends become durable.
 *
 * - `durable` (default): `append` resolves after the bytes are fsynced; concurrent appends share
 *   one fsync (group commit).
 * - `deferred`: `flush.messages` or `flush.ms` was set explicitly, so an append resolves once
 *   written to the page cache and is fsynced when `flushMessages` unflushed messages accumulate or
 *   `flushMs` has passed since the last flush.
 */
export type FlushPolicy =
  | { kind: "durable" }
  | { kind: "deferred"; flushMessages: number | null; flushMs: number | null };

/**
 * Derives the flush policy of a config.
 *
 * @example
 * ```ts
 * import { flushPolicyOf, logConfig } from "./log_config.ts";
 * flushPolicyOf(logConfig()); // { kind: "durable" }
 * ```
 */
export function flushPolicyOf(config: LogConfig): FlushPolicy {
  if (config.flushMessages === null && config.flushMs === null) return { kind: "durable" };
  return { kind: "deferred", flushMessages: config.flushMessages, flushMs: config.flushMs };
}

function parseCleanupPolicy(text: string): CleanupPolicy {
  const parts = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  const unknown = parts.filter((p) => p !== "delete" && p !== "compact");
  if (unknown.length > 0) {
    throw new RangeError(`Cannot parse cleanup.policy "${text}": unknown policy ${unknown[0]}.`);
  }
  return { delete: parts.includes("delete"), compact: parts.includes("compact") };
}

function parseNumber(key: string, text: string): number {
  const value = Number(text.trim());
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot parse ${key}="${text}": not a number.`);
  }
  return value;
}

const NUMERIC_KEYS: Record<string, keyof LogConfig> = {
  "segment.bytes": "segmentBytes",
  "segment.ms": "segmentMs",
  "segment.jitter.ms": "segmentJitterMs",
  "segment.index.bytes": "segmentIndexBytes",
  "index.interval.bytes": "indexIntervalBytes",
  "max.message.bytes": "maxMessageBytes",
  "retention.ms": "retentionMs",
  "retention.bytes": "retentionBytes",
  "delete.retention.ms": "deleteRetentionMs",
  "min.compaction.lag.ms": "minCompactionLagMs",
  "min.cleanable.dirty.ratio": "minCleanableDirtyRatio",
  "max.compaction.lag.ms": "maxCompactionLagMs",
  "flush.messages": "flushMessages",
  "flush.ms": "flushMs",
  "message.timestamp.before.max.ms": "messageTimestampBeforeMaxMs",
  "message.timestamp.after.max.ms": "messageTimestampAfterMaxMs",
  "compression.gzip.level": "compressionGzipLevel",
  "compression.zstd.level": "compressionZstdLevel",
};

/**
 * Builds a config from Kafka topic-level keys (`segment.bytes`, `cleanup.policy`, ...); unknown
 * keys are ignored (they belong to other layers).
 *
 * @example
 * ```ts
 * import { logConfigFromProperties } from "./log_config.ts";
 * const config = logConfigFromProperties({ "cleanup.policy": "compact", "segment.ms": "600000" });
 * ```
 */
export function logConfigFromProperties(
  props: Record<string, string>,
  base: LogConfig = logConfig(),
): LogConfig {
  const config: LogConfig = { ...base };
  let differenceMaxMs: number | null = null;
  for (const [key, text] of Object.entries(props)) {
    const field = NUMERIC_KEYS[key];
    if (field !== undefined) {
      (config as unknown as Record<string, unknown>)[field] = parseNumber(key, text);
    } else if (key === "cleanup.policy") {
      config.cleanupPolicy = parseCleanupPolicy(text);
    } else if (key === "message.timestamp.type") {
      if (text !== "CreateTime" && text !== "LogAppendTime") {
        throw new RangeError(`Cannot parse message.timestamp.type="${text}".`);
      }
      config.messageTimestampType = text;
    } else if (key === "message.downconversion.enable") {
      const flag = text.trim().toLowerCase();
      if (flag !== "true" && flag !== "false") {
        throw new RangeError(`Cannot parse message.downconversion.enable="${text}".`);
      }
      config.messageDownConversionEnable = flag === "true";
    } else if (key === "compression.type") {
      const codec = text.trim().toLowerCase() as TopicCompression;
      if (!TOPIC_COMPRESSIONS.includes(codec)) {
        throw new RangeError(`Cannot parse compression.type="${text}".`);
      }
      config.compressionType = codec;
    } else if (key === "message.timestamp.difference.max.ms") {
      differenceMaxMs = parseNumber(key, text);
    }
  }
  // Kafka 3.6+: the deprecated difference bound stands in for each KIP-937 bound left unset.
  if (differenceMaxMs !== null) {
    if (config.messageTimestampBeforeMaxMs >= LONG_MAX) {
      config.messageTimestampBeforeMaxMs = differenceMaxMs;
    }
    if (config.messageTimestampAfterMaxMs >= LONG_MAX) {
      config.messageTimestampAfterMaxMs = differenceMaxMs;
    }
  }
  return config;
}
