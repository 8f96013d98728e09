/**
 * A broker's config layers and what a topic inherits from them, as Kafka resolves them: a
 * dynamic per-broker value (config resource BROKER "<id>"), else the dynamic cluster-wide default
 * (BROKER ""), else `server.properties`, else Kafka's default. DescribeConfigs reports values this
 * way, and the logs run with the same values, so what is described is what is in force.
 *
 * @module
 */

import { BROKER_CONFIGS } from "./broker_configs.ts";
import type { ConfigDef } from "./config_def.ts";
import { TOPIC_CONFIGS } from "./topic_configs.ts";
import { ConfigResourceType, type MetadataImage, resourceConfigs } from "../metadata/image.ts";

/** The config layers of one broker, highest precedence first. */
export interface ConfigLayers {
  /** Dynamic overrides of this broker (broker resource "<id>"). */
  readonly perBroker: ReadonlyMap<string, string>;
  /** Dynamic cluster-wide defaults (broker resource ""). */
  readonly clusterDefault: ReadonlyMap<string, string>;
  /** `server.properties` as given. */
  readonly originals: ReadonlyMap<string, string>;
}

const NO_CONFIGS: ReadonlyMap<string, string> = new Map();

/**
 * The layers of broker `nodeId`: its dynamic configs and the cluster default from `image` (none
 * before metadata loads), over `originals` (server.properties).
 *
 * @example
 * ```ts
 * import { brokerConfigLayers, layeredValue } from "./config_layers.ts";
 * import { EMPTY_IMAGE } from "../metadata/image.ts";
 * const layers = brokerConfigLayers(EMPTY_IMAGE, 1, new Map([["message.max.bytes", "2000"]]));
 * layeredValue(layers, "message.max.bytes"); // "2000"
 * ```
 */
export function brokerConfigLayers(
  image: MetadataImage | undefined,
  nodeId: number,
  originals: ReadonlyMap<string, string>,
): ConfigLayers {
  return {
    perBroker: image === undefined
      ? NO_CONFIGS
      : resourceConfigs(image, ConfigResourceType.BROKER, String(nodeId)),
    clusterDefault: image === undefined
      ? NO_CONFIGS
      : resourceConfigs(image, ConfigResourceType.BROKER, ""),
    originals,
  };
}

/** Topic configs by their broker synonym, for defaults of synonyms kraftling has no broker def of. */
const TOPIC_BY_SYNONYM: ReadonlyMap<string, ConfigDef> = new Map(
  [...TOPIC_CONFIGS.values()].flatMap((d) => d.brokerSynonym ? [[d.brokerSynonym, d]] : []),
);

/**
 * Kafka's default of a broker config as a string, or null (no default, or a null default).
 *
 * @example
 * ```ts
 * import { staticDefault } from "./config_layers.ts";
 * staticDefault("log.segment.bytes"); // "1073741824"
 * ```
 */
export function staticDefault(name: string): string | null {
  const def = BROKER_CONFIGS.get(name) ?? TOPIC_BY_SYNONYM.get(name);
  return def?.defaultText ?? null;
}

/**
 * The raw value of broker config `name` in the highest layer that sets it, or undefined.
 *
 * @example
 * ```ts
 * import { layeredValue } from "./config_layers.ts";
 * const layers = {
 *   perBroker: new Map(),
 *   clusterDefault: new Map([["message.max.bytes", "1000"]]),
 *   originals: new Map([["message.max.bytes", "2000"]]),
 * };
 * layeredValue(layers, "message.max.bytes"); // "1000"
 * ```
 */
export function layeredValue(layers: ConfigLayers, name: string): string | undefined {
  return layers.perBroker.get(name) ?? layers.clusterDefault.get(name) ??
    layers.originals.get(name);
}

/** True when a dynamic layer (per-broker or cluster default) sets `name`. */
export function setDynamically(layers: ConfigLayers, name: string): boolean {
  return layers.perBroker.has(name) || layers.clusterDefault.has(name);
}

function integerOf(text: string | null | undefined): bigint | null {
  if (text === undefined || text === null || !/^[+-]?\d+$/.test(text.trim())) return null;
  return BigInt(text.trim());
}

/** The first of `names` that is set (or has a default), times its unit in milliseconds. */
function firstMs(layers: ConfigLayers, names: [string, bigint][]): bigint | null {
  for (const [name, msPerUnit] of names) {
    const value = integerOf(layeredValue(layers, name) ?? staticDefault(name));
    if (value !== null) return value * msPerUnit;
  }
  return null;
}

/**
 * The value of broker config `name` (a topic config's broker synonym) a topic inherits, with
 * `KafkaConfig`'s derivations (log.retention.ms from minutes or hours, log.roll.ms from hours,
 * log.flush.interval.ms from the scheduler interval), as text.
 *
 * @example
 * ```ts
 * import { inheritedTopicValue } from "./config_layers.ts";
 * const layers = {
 *   perBroker: new Map(),
 *   clusterDefault: new Map(),
 *   originals: new Map([["log.retention.hours", "1"]]),
 * };
 * inheritedTopicValue(layers, "log.retention.ms"); // "3600000"
 * ```
 */
export function inheritedTopicValue(layers: ConfigLayers, name: string): string | null {
  let derived: bigint | null = null;
  switch (name) {
    case "log.retention.ms":
      derived = firstMs(layers, [
        ["log.retention.ms", 1n],
        ["log.retention.minutes", 60_000n],
        ["log.retention.hours", 3_600_000n],
      ]);
      if (derived !== null && derived < 0n) derived = -1n;
      break;
    case "log.roll.ms":
      derived = firstMs(layers, [["log.roll.ms", 1n], ["log.roll.hours", 3_600_000n]]);
      break;
    case "log.roll.jitter.ms":
      derived = firstMs(layers, [["log.roll.jitter.ms", 1n], [
        "log.roll.jitter.hours",
        3_600_000n,
      ]]);
      break;
    case "log.flush.interval.ms":
      derived = firstMs(layers, [["log.flush.interval.ms", 1n], [
        "log.flush.scheduler.interval.ms",
        1n,
      ]]);
      break;
  }
  if (derived !== null) return String(derived);
  return layeredValue(layers, name) ?? staticDefault(name);
}
