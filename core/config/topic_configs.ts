/**
 * Topic-level config definitions (Kafka's `TopicConfig`/`LogConfig`) with the broker config each
 * one falls back to (`ServerTopicConfigSynonyms`). DescribeConfigs and AlterConfigs use this table
 * for names, defaults, sources and validation; CreateTopics for validating `configs`.
 *
 * @module
 */

import {
  atLeast,
  between,
  type ConfigDef,
  ConfigError,
  type ConfigType,
  type ConfigValue,
  inList,
  invalidValue,
  listOf,
  LONG_MAX_TEXT,
  parseConfigValue,
  type Validator,
} from "./config_def.ts";
import { COMPRESSION_TYPES } from "./broker_configs.ts";

function def(
  name: string,
  type: ConfigType,
  defaultText: string | null,
  brokerSynonym: string | undefined,
  validator?: Validator,
): ConfigDef {
  return { name, type, defaultText, brokerSynonym, validator };
}

/** Kafka's `ThrottledReplicaListValidator`: `*`, or `partition:broker` pairs. */
function throttledReplicaList(name: string): Validator {
  return (v) => {
    const entries = Array.isArray(v) ? v.map((e) => e.trim()) : [];
    if (entries.length === 1 && entries[0] === "*") return null;
    return entries.every((e) => /^\d+:\d+$/.test(e))
      ? null
      : `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;
  };
}

/**
 * Every topic config Kafka 3.9 defines. `defaultText` is Kafka's static default; the effective
 * default of a topic is the broker value of `brokerSynonym` (see `effectiveTopicDefault`).
 *
 * @example
 * ```ts
 * import { TOPIC_CONFIGS } from "./topic_configs.ts";
 * TOPIC_CONFIGS.get("retention.ms")?.brokerSynonym; // "log.retention.ms"
 * ```
 */
export const TOPIC_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map(
  [
    def("cleanup.policy", "list", "delete", "log.cleanup.policy", listOf("compact", "delete")),
    def("compression.type", "string", "producer", "compression.type", inList(...COMPRESSION_TYPES)),
    def("compression.gzip.level", "int", "-1", "compression.gzip.level"),
    def("compression.lz4.level", "int", "9", "compression.lz4.level", between(1, 17)),
    def("compression.zstd.level", "int", "3", "compression.zstd.level", between(-131072, 22)),
    def("delete.retention.ms", "long", "86400000", "log.cleaner.delete.retention.ms", atLeast(0)),
    def("file.delete.delay.ms", "long", "60000", "log.segment.delete.delay.ms", atLeast(0)),
    def("flush.messages", "long", LONG_MAX_TEXT, "log.flush.interval.messages", atLeast(1)),
    def("flush.ms", "long", LONG_MAX_TEXT, "log.flush.interval.ms", atLeast(0)),
    def(
      "follower.replication.throttled.replicas",
      "list",
      "",
      undefined,
      throttledReplicaList("follower.replication.throttled.replicas"),
    ),
    def("index.interval.bytes", "int", "4096", "log.index.interval.bytes", atLeast(0)),
    def(
      "leader.replication.throttled.replicas",
      "list",
      "",
      undefined,
      throttledReplicaList("leader.replication.throttled.replicas"),
    ),
    def("local.retention.bytes", "long", "-2", "log.local.retention.bytes", atLeast(-2)),
    def("local.retention.ms", "long", "-2", "log.local.retention.ms", atLeast(-2)),
    def(
      "max.compaction.lag.ms",
      "long",
      LONG_MAX_TEXT,
      "log.cleaner.max.compaction.lag.ms",
      atLeast(1),
    ),
    def("max.message.bytes", "int", "1048588", "message.max.bytes", atLeast(0)),
    def("message.downconversion.enable", "boolean", "true", "log.message.downconversion.enable"),
    def("message.format.version", "string", "3.0-IV1", "log.message.format.version"),
    def(
      "message.timestamp.after.max.ms",
      "long",
      LONG_MAX_TEXT,
      "log.message.timestamp.after.max.ms",
      atLeast(0),
    ),
    def(
      "message.timestamp.before.max.ms",
      "long",
      LONG_MAX_TEXT,
      "log.message.timestamp.before.max.ms",
      atLeast(0),
    ),
    def(
      "message.timestamp.difference.max.ms",
      "long",
      LONG_MAX_TEXT,
      "log.message.timestamp.difference.max.ms",
      atLeast(0),
    ),
    def(
      "message.timestamp.type",
      "string",
      "CreateTime",
      "log.message.timestamp.type",
      inList("CreateTime", "LogAppendTime"),
    ),
    def(
      "min.cleanable.dirty.ratio",
      "double",
      "0.5",
      "log.cleaner.min.cleanable.ratio",
      between(0, 1),
    ),
    def("min.compaction.lag.ms", "long", "0", "log.cleaner.min.compaction.lag.ms", atLeast(0)),
    def("min.insync.replicas", "int", "1", "min.insync.replicas", atLeast(1)),
    def("preallocate", "boolean", "false", "log.preallocate"),
    // kraftling has no tiered storage (Kafka's remote.log.storage.system.enable=false).
    def(
      "remote.storage.enable",
      "boolean",
      "false",
      undefined,
      (v) =>
        v === true
          ? "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."
          : null,
    ),
    def("retention.bytes", "long", "-1", "log.retention.bytes"),
    def("retention.ms", "long", "604800000", "log.retention.ms", atLeast(-1)),
    def("segment.bytes", "int", "1073741824", "log.segment.bytes", atLeast(14)),
    def("segment.index.bytes", "int", "10485760", "log.index.size.max.bytes", atLeast(4)),
    def("segment.jitter.ms", "long", "0", "log.roll.jitter.ms", atLeast(0)),
    def("segment.ms", "long", "604800000", "log.roll.ms", atLeast(1)),
    def("unclean.leader.election.enable", "boolean", "false", "unclean.leader.election.enable"),
  ].map((d) => [d.name, d]),
);

/**
 * Parses and validates one topic config value as CreateTopics/AlterConfigs do. Throws a
 * `ConfigError` naming the key: unknown key, wrong type, or out of range.
 *
 * @example
 * ```ts
 * import { validateTopicConfig } from "./topic_configs.ts";
 * validateTopicConfig("retention.ms", "86400000"); // 86400000
 * validateTopicConfig("cleanup.policy", "compact,delete"); // ["compact", "delete"]
 * ```
 */
export function validateTopicConfig(name: string, raw: string): ConfigValue {
  const topicDef = TOPIC_CONFIGS.get(name);
  if (topicDef === undefined) {
    throw new ConfigError(name, `Unknown topic config name: ${name}`);
  }
  const value = parseConfigValue(topicDef, raw);
  const problem = topicDef.validator?.(value) ?? null;
  if (problem !== null) throw invalidValue(name, raw.trim(), problem);
  return value;
}
