/**
 * The effective log config of a topic: its overrides from the metadata image over the broker's
 * dynamic configs (this broker's, then the cluster default), over `server.properties` synonyms such
 * as `log.retention.ms`, over Kafka's defaults.
 *
 * `flush.messages` / `flush.ms` stay unset (appends are fsynced before they are acknowledged)
 * unless a topic or the broker sets them to something below Long.MAX_VALUE.
 *
 * @module
 */
import { type ServerConfig, topicDefault } from "../core/config/server_config.ts";
import {
  brokerConfigLayers,
  inheritedTopicValue,
  setDynamically,
} from "../core/config/config_layers.ts";
import { TOPIC_CONFIGS } from "../core/config/topic_configs.ts";
import { ConfigResourceType, type MetadataImage, resourceConfigs } from "../core/metadata/image.ts";
import { type LogConfig, logConfig, logConfigFromProperties } from "../storage/log/log_config.ts";

/** Topic keys the log reads. */
const LOG_KEYS = [
  "segment.bytes",
  "segment.ms",
  "segment.jitter.ms",
  "segment.index.bytes",
  "index.interval.bytes",
  "max.message.bytes",
  "retention.ms",
  "retention.bytes",
  "cleanup.policy",
  "delete.retention.ms",
  "min.compaction.lag.ms",
  "min.cleanable.dirty.ratio",
  "max.compaction.lag.ms",
  "message.timestamp.type",
  "message.timestamp.before.max.ms",
  "message.timestamp.after.max.ms",
  "message.timestamp.difference.max.ms",
  "flush.messages",
  "flush.ms",
  "message.downconversion.enable",
  "compression.type",
  "compression.gzip.level",
  "compression.zstd.level",
] as const;

const FLUSH_KEYS = new Set(["flush.messages", "flush.ms"]);

/**
 * The log config of `topic` (a fresh object each call).
 *
 * @example
 * ```ts ignore
 * const config = topicLogConfig(ctx.config, ctx.metadata.image, "orders", logger.warn);
 * ```
 */
export function topicLogConfig(
  server: ServerConfig,
  image: MetadataImage,
  topic: string,
  warn: (line: string) => void,
): LogConfig {
  const overrides = resourceConfigs(image, ConfigResourceType.TOPIC, topic);
  // Dynamic broker configs (kafka-configs --entity-type brokers, this broker's or the cluster
  // default) are in force for every topic that does not override them, as DescribeConfigs says.
  const layers = brokerConfigLayers(image, server.nodeId, server.originals);
  const props: Record<string, string> = {};
  for (const key of LOG_KEYS) {
    const synonym = TOPIC_CONFIGS.get(key)?.brokerSynonym;
    const value = overrides.get(key) ??
      (synonym !== undefined && setDynamically(layers, synonym)
        ? inheritedTopicValue(layers, synonym)
        : topicDefault(server, key).value);
    if (value === null || value === undefined) continue;
    if (FLUSH_KEYS.has(key)) {
      const n = Number(value);
      if (!Number.isFinite(n) || n >= Number.MAX_SAFE_INTEGER) continue;
    }
    props[key] = value;
  }
  try {
    return logConfigFromProperties(props);
  } catch (error) {
    warn(`Using default log config for topic ${topic}: ${(error as Error).message}`);
    return logConfig();
  }
}

/** True when two configs are equal field by field. */
export function sameLogConfig(a: LogConfig, b: LogConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
