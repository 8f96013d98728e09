/**
 * The config checks the controller runs on CreateTopics and (Incremental)AlterConfigs, built from
 * the broker and topic config tables: topic configs as Kafka's `LogConfig.validate`, broker
 * configs as `DynamicBrokerConfig.validateConfigs` (only dynamic configs may change at run time).
 *
 * @module
 */

import { BROKER_CONFIGS } from "../../core/config/broker_configs.ts";
import { ConfigError, resolveConfigValue } from "../../core/config/config_def.ts";
import type { ServerConfig } from "../../core/config/server_config.ts";
import { TOPIC_CONFIGS, validateTopicConfig } from "../../core/config/topic_configs.ts";
import type { ControllerConfig } from "../../core/metadata/controller_context.ts";
import { ConfigResourceType } from "../../core/metadata/image.ts";
import { staticTopicConfig } from "./describe_configs.ts";

/** The hooks of {@link ControllerConfig} this module provides. */
export type ControllerConfigHooks = Required<
  Pick<ControllerConfig, "validateConfig" | "isListConfig" | "topicConfigDefaults">
>;

function messageOf(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  throw error;
}

/**
 * Checks one topic config; null when acceptable. Deleting (`value` null) is always acceptable:
 * Kafka validates the configs that remain.
 *
 * @example
 * ```ts
 * import { topicConfigError } from "./config_validation.ts";
 * topicConfigError("foo", "1"); // "Unknown topic config name: foo"
 * topicConfigError("retention.ms", "86400000"); // null
 * ```
 */
export function topicConfigError(name: string, value: string | null): string | null {
  if (value === null) return null;
  try {
    validateTopicConfig(name, value);
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

/**
 * Checks one dynamic broker config change; null when acceptable. `resourceName` is "" for the
 * cluster-wide default, else a broker id (null: unknown, skips the per-broker check). Names kraftling does not define are accepted, as Kafka
 * accepts custom configs. Kafka answers these messages with INVALID_REQUEST (KAFKA-13609).
 *
 * @example
 * ```ts
 * import { brokerConfigError } from "./config_validation.ts";
 * brokerConfigError("", "log.dirs", "/tmp"); // "Cannot update these configs dynamically: Set(log.dirs)"
 * brokerConfigError("", "log.retention.ms", "1000"); // null
 * ```
 */
export function brokerConfigError(
  resourceName: string | null,
  name: string,
  value: string | null,
): string | null {
  const def = BROKER_CONFIGS.get(name);
  // Deleting is always acceptable: Kafka validates the configs that remain.
  if (def === undefined || value === null) return null;
  if (def.dynamic === undefined || def.dynamic === "read-only") {
    return `Cannot update these configs dynamically: Set(${name})`;
  }
  try {
    resolveConfigValue(def, value);
  } catch (error) {
    return messageOf(error);
  }
  if (resourceName === "" && def.dynamic === "per-broker") {
    return `Cannot update these configs at default cluster level, broker id must be specified: Set(${name})`;
  }
  return null;
}

/**
 * The controller's config hooks for a node configured by `serverConfig`: validation of topic and
 * broker configs, which configs are lists (APPEND/SUBTRACT), and the topic config values a new
 * topic gets (CreateTopics v5+).
 *
 * @example
 * ```ts ignore
 * const controllerConfig: ControllerConfig = { ...base, ...controllerConfigHooks(serverConfig) };
 * controllerConfig.validateConfig(2, "foo", "1"); // "Unknown topic config name: foo"
 * ```
 */
export function controllerConfigHooks(serverConfig: ServerConfig): ControllerConfigHooks {
  const topicConfigDefaults = new Map<string, string | null>();
  for (const name of [...TOPIC_CONFIGS.keys()].sort()) {
    topicConfigDefaults.set(name, staticTopicConfig(serverConfig, name).value);
  }
  return {
    validateConfig: (resourceType, name, value) => {
      switch (resourceType) {
        case ConfigResourceType.TOPIC:
          return topicConfigError(name, value);
        case ConfigResourceType.BROKER:
          // The controller does not pass the resource name: per-broker-only checks happen on
          // the broker (brokerConfigError with the name).
          return brokerConfigError(null, name, value);
        default:
          return null;
      }
    },
    isListConfig: (resourceType, name) => {
      const table = resourceType === ConfigResourceType.TOPIC
        ? TOPIC_CONFIGS
        : resourceType === ConfigResourceType.BROKER
        ? BROKER_CONFIGS
        : undefined;
      return table?.get(name)?.type === "list";
    },
    topicConfigDefaults,
  };
}
