/**
 * DescribeConfigs (v0-v4) for topics, brokers and broker loggers, as Kafka 3.9's `ConfigHelper`:
 * every config with its effective value, the source it came from, and (on request) the synonyms
 * behind it in precedence order: dynamic per-broker, dynamic cluster-wide default, static
 * `server.properties`, Kafka's default.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode, errorMessage } from "../protocol/generated/errors.ts";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResource,
} from "../protocol/generated/describe_configs_request.ts";
import {
  createDescribeConfigsResponse,
  type DescribeConfigsResourceResult,
  type DescribeConfigsResponse,
  type DescribeConfigsResult,
  type DescribeConfigsSynonym,
} from "../protocol/generated/describe_configs_response.ts";
import { BROKER_CONFIGS } from "../../core/config/broker_configs.ts";
import type { ConfigDef, ConfigType } from "../../core/config/config_def.ts";
import type { ServerConfig } from "../../core/config/server_config.ts";
import { TOPIC_CONFIGS } from "../../core/config/topic_configs.ts";
import {
  brokerConfigLayers,
  type ConfigLayers,
  inheritedTopicValue,
  layeredValue,
  staticDefault,
} from "../../core/config/config_layers.ts";
import { topicNameError } from "../../core/metadata/controller.ts";
import {
  ConfigResourceType,
  type MetadataImage,
  resourceConfigs,
} from "../../core/metadata/image.ts";

/** Kafka's `DescribeConfigsResponse.ConfigSource` ids. */
export const ConfigSourceId = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** Kafka's `DescribeConfigsResponse.ConfigType` ids, by `ConfigDef` type. */
export const CONFIG_TYPE_IDS: Readonly<Record<ConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

/** What the handler reads: `BrokerContext` satisfies it. */
export interface DescribeConfigsContext {
  readonly config: ServerConfig;
  readonly nodeId: number;
  readonly metadata: { readonly image: MetadataImage };
}

const EMPTY: ReadonlyMap<string, string> = new Map();

function layersOf(ctx: DescribeConfigsContext): ConfigLayers {
  return brokerConfigLayers(ctx.metadata.image, ctx.nodeId, ctx.config.originals);
}

/** The names that define one broker config, primary first (`DynamicBrokerConfig.brokerConfigSynonyms`). */
function brokerSynonymNames(name: string): string[] {
  switch (name) {
    case "log.roll.ms":
    case "log.roll.hours":
      return ["log.roll.ms", "log.roll.hours"];
    case "log.roll.jitter.ms":
    case "log.roll.jitter.hours":
      return ["log.roll.jitter.ms", "log.roll.jitter.hours"];
    case "log.flush.interval.ms":
      return ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"];
    case "log.retention.ms":
    case "log.retention.minutes":
    case "log.retention.hours":
      return ["log.retention.ms", "log.retention.minutes", "log.retention.hours"];
  }
  const listener = /^listener\.name\.[^.]*\.(.*)$/.exec(name);
  return listener ? [name, listener[1]!] : [name];
}

/**
 * The synonyms of `name` in precedence order (every source, then every name within a source),
 * starting at the first entry for `name` itself, as Kafka's `ConfigHelper.configSynonyms`.
 */
function configSynonyms(
  layers: ConfigLayers,
  name: string,
  sensitive: boolean,
): DescribeConfigsSynonym[] {
  const names = brokerSynonymNames(name);
  const sources: [(n: string) => string | null | undefined, number][] = [
    [(n) => layers.perBroker.get(n), ConfigSourceId.DYNAMIC_BROKER_CONFIG],
    [(n) => layers.clusterDefault.get(n), ConfigSourceId.DYNAMIC_DEFAULT_BROKER_CONFIG],
    [(n) => layers.originals.get(n), ConfigSourceId.STATIC_BROKER_CONFIG],
    [staticDefault, ConfigSourceId.DEFAULT_CONFIG],
  ];
  const all: DescribeConfigsSynonym[] = [];
  for (const [lookup, source] of sources) {
    for (const n of names) {
      const value = lookup(n);
      if (value === undefined || value === null) continue;
      all.push({ name: n, value: sensitive ? null : value, source, _unknownTaggedFields: [] });
    }
  }
  const first = all.findIndex((s) => s.name === name);
  return first < 0 ? [] : all.slice(first);
}

/** Java's `Double.toString` for the values configs hold. */
function javaDouble(n: number): string {
  if (n === 0) return "0.0";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : n < 0 ? "-Infinity" : "NaN";
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) return Number.isInteger(n) ? `${n}.0` : String(n);
  const [mantissa, exponent] = n.toExponential().split("e");
  return `${mantissa!.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/**
 * A raw config string as Kafka prints the parsed value (`ConfigDef.convertToString`): trimmed,
 * canonical numbers and booleans, lists joined by ",". Unparseable text comes back trimmed.
 */
function formatValue(type: ConfigType, raw: string | null): string | null {
  if (raw === null) return null;
  const text = raw.trim();
  switch (type) {
    case "password":
      return raw;
    case "boolean":
      return /^(true|false)$/i.test(text) ? text.toLowerCase() : text;
    case "int":
    case "short":
    case "long":
      return /^[+-]?\d+$/.test(text) ? BigInt(text).toString() : text;
    case "double": {
      const n = Number(text);
      return text === "" || Number.isNaN(n) ? text : javaDouble(n);
    }
    case "list":
      return text === "" ? "" : text.split(/\s*,\s*/).join(",");
    default:
      return text;
  }
}

interface EntryOptions {
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

function entry(
  name: string,
  value: string | null,
  init: { source: number; synonyms: DescribeConfigsSynonym[]; def?: ConfigDef; readOnly: boolean },
  options: EntryOptions,
): DescribeConfigsResourceResult {
  // KafkaConfig.maybeSensitive: a config of unknown type may be a secret.
  const sensitive = init.def === undefined || init.def.type === "password" ||
    init.def.sensitive === true;
  return {
    name,
    value: sensitive ? null : value,
    readOnly: init.readOnly,
    isDefault: false,
    configSource: init.source,
    isSensitive: sensitive,
    synonyms: options.includeSynonyms ? init.synonyms : [],
    configType: init.def === undefined ? 0 : CONFIG_TYPE_IDS[init.def.type],
    documentation: null,
    _unknownTaggedFields: [],
  };
}

/** A topic config entry as `ConfigHelper.createTopicConfigEntry`. */
function topicEntry(
  layers: ConfigLayers,
  def: ConfigDef,
  override: string | undefined,
  options: EntryOptions,
): DescribeConfigsResourceResult {
  const synonym = def.brokerSynonym;
  const synonyms = synonym === undefined ? [] : configSynonyms(layers, synonym, false);
  const inherited = synonym === undefined ? def.defaultText : inheritedTopicValue(layers, synonym);
  const value = formatValue(def.type, override ?? inherited);
  if (override !== undefined) {
    synonyms.unshift({
      name: def.name,
      value,
      source: ConfigSourceId.DYNAMIC_TOPIC_CONFIG,
      _unknownTaggedFields: [],
    });
  }
  const source = synonyms[0]?.source ?? ConfigSourceId.DEFAULT_CONFIG;
  return entry(def.name, value, { source, synonyms, def, readOnly: false }, options);
}

/** A broker config entry as `ConfigHelper.createBrokerConfigEntry`. */
function brokerEntry(
  layers: ConfigLayers,
  name: string,
  perBroker: boolean,
  options: EntryOptions,
): DescribeConfigsResourceResult {
  const def = BROKER_CONFIGS.get(name);
  const sensitive = def === undefined || def.type === "password" || def.sensitive === true;
  const synonyms = configSynonyms(layers, name, sensitive)
    .filter((s) => perBroker || s.source === ConfigSourceId.DYNAMIC_DEFAULT_BROKER_CONFIG);
  const raw = perBroker ? layeredValue(layers, name) ?? def?.defaultText ?? null : layers
    .clusterDefault.get(name) ?? null;
  const value = def === undefined || !perBroker ? raw : formatValue(def.type, raw);
  const source = synonyms[0]?.source ?? ConfigSourceId.DEFAULT_CONFIG;
  const readOnly = def?.dynamic === undefined || def.dynamic === "read-only";
  return entry(name, value, { source, synonyms, def, readOnly }, options);
}

function wanted(resource: DescribeConfigsResource): (name: string) => boolean {
  const keys = resource.configurationKeys;
  if (keys === null || keys.length === 0) return () => true;
  const set = new Set(keys);
  return (name) => set.has(name);
}

class ResourceError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function describeTopic(
  ctx: DescribeConfigsContext,
  resource: DescribeConfigsResource,
  options: EntryOptions,
): DescribeConfigsResourceResult[] {
  const name = resource.resourceName;
  const invalid = topicNameError(name);
  if (invalid !== null) throw new ResourceError(ErrorCode.INVALID_TOPIC_EXCEPTION, invalid);
  const image = ctx.metadata.image;
  if (!image.topics.byName.has(name)) {
    throw new ResourceError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `The topic '${name}' does not exist.`,
    );
  }
  const overrides = resourceConfigs(image, ConfigResourceType.TOPIC, name);
  const layers = layersOf(ctx);
  const include = wanted(resource);
  return [...TOPIC_CONFIGS.values()]
    .filter((d) => include(d.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((d) => topicEntry(layers, d, overrides.get(d.name), options));
}

function brokerIdOf(resourceName: string): number {
  if (!/^[+-]?\d+$/.test(resourceName)) {
    throw new ResourceError(
      ErrorCode.INVALID_REQUEST,
      `Broker id must be an integer, but it is: ${resourceName}`,
    );
  }
  return Number(resourceName);
}

function describeBroker(
  ctx: DescribeConfigsContext,
  resource: DescribeConfigsResource,
  options: EntryOptions,
): DescribeConfigsResourceResult[] {
  const layers = layersOf(ctx);
  const perBroker = resource.resourceName !== "";
  if (perBroker && brokerIdOf(resource.resourceName) !== ctx.nodeId) {
    throw new ResourceError(
      ErrorCode.INVALID_REQUEST,
      `Unexpected broker id, expected ${ctx.nodeId} or empty string, but received ${resource.resourceName}`,
    );
  }
  // The cluster default resource lists only what is set there (currentDynamicDefaultConfigs).
  const names = perBroker
    ? new Set([
      ...BROKER_CONFIGS.keys(),
      ...layers.originals.keys(),
      ...layers.clusterDefault.keys(),
      ...layers.perBroker.keys(),
    ])
    : new Set(layers.clusterDefault.keys());
  const include = wanted(resource);
  return [...names]
    .filter(include)
    .sort()
    .map((name) => brokerEntry(layers, name, perBroker, options));
}

function describeBrokerLogger(
  ctx: DescribeConfigsContext,
  resource: DescribeConfigsResource,
): DescribeConfigsResourceResult[] {
  if (resource.resourceName === "") {
    throw new ResourceError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty");
  }
  if (brokerIdOf(resource.resourceName) !== ctx.nodeId) {
    throw new ResourceError(
      ErrorCode.INVALID_REQUEST,
      `Unexpected broker id, expected ${ctx.nodeId} but received ${resource.resourceName}`,
    );
  }
  // kraftling has no per-logger levels to report (Kafka lists its log4j loggers here).
  return [];
}

const RESOURCE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [ConfigResourceType.TOPIC, "TOPIC"],
  [ConfigResourceType.BROKER, "BROKER"],
  [ConfigResourceType.BROKER_LOGGER, "BROKER_LOGGER"],
  [ConfigResourceType.CLIENT_METRICS, "CLIENT_METRICS"],
  [ConfigResourceType.GROUP, "GROUP"],
]);

function describeResource(
  ctx: DescribeConfigsContext,
  resource: DescribeConfigsResource,
  options: EntryOptions,
): DescribeConfigsResult {
  const result: DescribeConfigsResult = {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
    _unknownTaggedFields: [],
  };
  try {
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC:
        result.configs = describeTopic(ctx, resource, options);
        break;
      case ConfigResourceType.BROKER:
        result.configs = describeBroker(ctx, resource, options);
        break;
      case ConfigResourceType.BROKER_LOGGER:
        result.configs = describeBrokerLogger(ctx, resource);
        break;
      default:
        throw new ResourceError(
          ErrorCode.INVALID_REQUEST,
          `Unsupported resource type: ${RESOURCE_TYPE_NAMES.get(resource.resourceType)}`,
        );
    }
  } catch (error) {
    if (!(error instanceof ResourceError)) throw error;
    result.errorCode = error.code;
    result.errorMessage = error.message;
  }
  return result;
}

/**
 * Answers one DescribeConfigs request from the broker's config and metadata image. A resource
 * type Kafka does not know fails the whole request with INVALID_REQUEST (as Kafka's authorization
 * step does); other failures are per resource.
 *
 * @example
 * ```ts ignore
 * const response = describeConfigs(request, { version: 4, ctx });
 * response.results[0]?.configs.find((c) => c.name === "retention.ms")?.configSource; // 5
 * ```
 */
export function describeConfigs(
  request: DescribeConfigsRequest,
  { version, ctx }: { version: number; ctx: DescribeConfigsContext },
): DescribeConfigsResponse {
  const unknownType = request.resources.some((r) => !RESOURCE_TYPE_NAMES.has(r.resourceType));
  if (unknownType) {
    return createDescribeConfigsResponse({
      results: request.resources.map((r) => ({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: errorMessage(ErrorCode.INVALID_REQUEST),
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
        _unknownTaggedFields: [],
      })),
    });
  }
  const options: EntryOptions = {
    includeSynonyms: version >= 1 && request.includeSynonyms,
    includeDocumentation: version >= 3 && request.includeDocumentation,
  };
  const results = request.resources.map((r) => describeResource(ctx, r, options));
  if (version === 0) {
    // v0 has no ConfigSource: isDefault stands in for it.
    for (const c of results.flatMap((r) => r.configs)) {
      c.isDefault = c.configSource === ConfigSourceId.DEFAULT_CONFIG;
    }
  }
  return createDescribeConfigsResponse({ results });
}

/**
 * The value and source a new topic gets for `name` from the static config alone (no dynamic
 * broker configs), as DescribeConfigs would report it. Throws on an unknown topic config.
 *
 * @example
 * ```ts ignore
 * staticTopicConfig(serverConfig, "retention.ms"); // { value: "604800000", source: 5 }
 * ```
 */
export function staticTopicConfig(
  config: ServerConfig,
  name: string,
): { value: string | null; source: number } {
  const def = TOPIC_CONFIGS.get(name);
  if (def === undefined) throw new RangeError(`Unknown topic config name: ${name}`);
  const layers = { perBroker: EMPTY, clusterDefault: EMPTY, originals: config.originals };
  const e = topicEntry(layers, def, undefined, {
    includeSynonyms: false,
    includeDocumentation: false,
  });
  return { value: e.value, source: e.configSource };
}

/**
 * Registers DescribeConfigs v0-v4.
 *
 * @example
 * ```ts ignore
 * registerDescribeConfigs(dispatcher, brokerContext);
 * ```
 */
export function registerDescribeConfigs(dispatcher: Dispatcher, ctx: DescribeConfigsContext): void {
  dispatcher.register<DescribeConfigsRequest, DescribeConfigsResponse>(ApiKey.DESCRIBE_CONFIGS, {
    minVersion: 0,
    maxVersion: 4,
    handle: (request, context) => describeConfigs(request, { version: context.apiVersion, ctx }),
  });
}
