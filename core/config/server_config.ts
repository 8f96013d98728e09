/**
 * The typed, validated configuration of a KRaft node, built from `server.properties` with Kafka's
 * key names, defaults and cross-key rules (`KafkaConfig.validateValues`). Errors are thrown as
 * `ConfigError` (one sentence naming the key); things Kafka would only log come back as warnings.
 *
 * @module
 */

import { mentionsKey, suggestKey } from "./key_suggestion.ts";
import {
  BROKER_CONFIGS,
  IGNORED_BROKER_KEY_PREFIXES,
  IGNORED_BROKER_KEYS,
  JAVA_CLASS_BROKER_KEYS,
  RACK_AWARE_REPLICA_SELECTOR,
  SECURITY_PROTOCOLS,
} from "./broker_configs.ts";
import { ConfigError, type ConfigValue, invalidValue, resolveConfigValue } from "./config_def.ts";
import {
  type Endpoint,
  formatEndpoint,
  formatHostPort,
  type HostPort,
  parseHostPort,
  parseListeners,
  parseQuorumVoters,
  type QuorumVoter,
} from "./endpoints.ts";
import {
  type ControllerClientTls,
  type ListenerTls,
  parseControllerClientTls,
  parseListenerTls,
  parseTrustStore,
  type TrustStore,
} from "./tls_config.ts";
import { TOPIC_CONFIGS } from "./topic_configs.ts";
import {
  type InterBrokerSasl,
  type ListenerSasl,
  parseControllerSasl,
  parseInterBrokerSasl,
  parseListenerSasl,
} from "../security/sasl_config.ts";

/** A KRaft process role (`process.roles`). */
export type ProcessRole = "broker" | "controller";

/** The security protocols kraftling serves (all of Kafka's). */
export const SUPPORTED_SECURITY_PROTOCOLS: readonly string[] = [
  "PLAINTEXT",
  "SSL",
  "SASL_PLAINTEXT",
  "SASL_SSL",
];

/** A validated node configuration. Field names are Kafka's keys in lowerCamelCase. */
export interface ServerConfig {
  processRoles: readonly ProcessRole[];
  isBroker: boolean;
  isController: boolean;
  nodeId: number;
  /** Static voters (`controller.quorum.voters`); empty for a dynamic (KIP-853) quorum. */
  quorumVoters: readonly QuorumVoter[];
  quorumBootstrapServers: readonly HostPort[];
  /** Every listener this node binds. */
  listeners: readonly Endpoint[];
  /** Broker listeners handed to clients (advertised.listeners or listeners, minus controller ones). */
  advertisedListeners: readonly Endpoint[];
  /** Controller listeners this node binds (controllers only). */
  controllerListeners: readonly Endpoint[];
  /** Controller listeners this node advertises to the quorum (controllers only). */
  advertisedControllerListeners: readonly Endpoint[];
  controllerListenerNames: readonly string[];
  interBrokerListenerName: string;
  listenerSecurityProtocolMap: ReadonlyMap<string, string>;
  /** TLS settings of every `SSL` and `SASL_SSL` listener this node binds, by listener name. */
  listenerTls: ReadonlyMap<string, ListenerTls>;
  /** SASL settings of every `SASL_PLAINTEXT` and `SASL_SSL` listener, by listener name. */
  listenerSasl?: ReadonlyMap<string, ListenerSasl>;
  /**
   * How this node logs in to the controllers when their listener is `SASL_PLAINTEXT`
   * (`sasl.mechanism.controller.protocol`, PLAIN); null otherwise.
   */
  controllerSasl?: InterBrokerSasl | null;
  /**
   * How this node connects to the controllers when their listener is `SSL` or `SASL_SSL`: the
   * trust store (`ssl.truststore.*`, also per listener) and the key store it presents to
   * controllers that ask for client certificates; null for PLAINTEXT/SASL_PLAINTEXT.
   */
  controllerTls?: ControllerClientTls | null;
  /**
   * How brokers log in to each other when the inter-broker listener is `SASL_*`
   * (`sasl.mechanism.inter.broker.protocol` and the listener's JAAS username/password); null
   * otherwise.
   */
  interBrokerSasl?: InterBrokerSasl | null;
  /**
   * How brokers connect to each other (replica fetchers, transaction markers) when the
   * inter-broker listener is `SSL`: the CA certificates to trust (null: the system's roots).
   * Null when the inter-broker listener is PLAINTEXT.
   */
  interBrokerTls: { trustStore: TrustStore | null } | null;
  logDirs: readonly string[];
  metadataLogDir: string;

  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  deleteTopicEnable: boolean;
  messageMaxBytes: number;
  socketRequestMaxBytes: number;
  queuedMaxRequests: number;
  connectionsMaxIdleMs: number;
  /** max.connections: every listener's connections together (the inter-broker one exempt). */
  maxConnections: number;
  /** max.connections.per.ip */
  maxConnectionsPerIp: number;
  /** quota.window.num: samples a client quota's rate is measured over. */
  quotaWindowCount: number;
  /** quota.window.size.seconds, in ms. */
  quotaWindowSizeMs: number;
  /** max.connections.per.ip.overrides: host or address -> limit. */
  maxConnectionsPerIpOverrides: Map<string, number>;
  /** `replication.quota.window.num`: samples a replication quota's rate is measured over. */
  replicationQuotaWindowCount: number;
  /** `replication.quota.window.size.seconds`, in ms. */
  replicationQuotaWindowSizeMs: number;
  /** `broker.rack`: registered with the controller (placement, Metadata, follower fetching). */
  brokerRack: string | null;
  /**
   * `replica.selector.class`: true for Kafka's `RackAwareReplicaSelector` (KIP-392: a consumer
   * that names its rack is sent to an in-sync replica there), false for none (leaders serve).
   */
  rackAwareReplicaSelector: boolean;
  replicaFetchMaxBytes: number;
  replicaLagTimeMaxMs: number;
  /** Leader balance on the active controller: `auto.leader.rebalance.enable`. */
  autoLeaderRebalanceEnable: boolean;
  /** `leader.imbalance.check.interval.seconds`, in milliseconds. */
  leaderImbalanceCheckIntervalMs: number;
  leaderImbalancePerBrokerPercentage: number;
  /** `unclean.leader.election.interval.ms`: how often leaderless partitions are looked at. */
  uncleanLeaderElectionIntervalMs: number;
  fetchMaxBytes: number;

  logSegmentBytes: number;
  logRollMs: number;
  logRollJitterMs: number;
  /** Effective retention: log.retention.ms, else minutes, else hours; -1 means unlimited. */
  logRetentionMs: number;
  logRetentionBytes: number;
  logRetentionCheckIntervalMs: number;
  logCleanupPolicy: readonly string[];
  logFlushIntervalMessages: number;
  /** log.flush.interval.ms, else log.flush.scheduler.interval.ms. */
  logFlushIntervalMs: number;
  logIndexSizeMaxBytes: number;
  logIndexIntervalBytes: number;
  logSegmentDeleteDelayMs: number;
  logMessageTimestampType: "CreateTime" | "LogAppendTime";
  logCleanerDeleteRetentionMs: number;
  logCleanerMinCompactionLagMs: number;
  logCleanerMaxCompactionLagMs: number;
  logCleanerMinCleanableRatio: number;
  logPreallocate: boolean;
  compressionType: string;
  minInsyncReplicas: number;
  uncleanLeaderElectionEnable: boolean;

  offsetsTopicNumPartitions: number;
  offsetsTopicReplicationFactor: number;
  offsetsTopicSegmentBytes: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  /** authorizer.class.name: "" (none) or Kafka's StandardAuthorizer. */
  authorizerClassName: string;
  /** super.users: principals allowed everything. */
  superUsers: string[];
  /** allow.everyone.if.no.acl.found */
  allowEveryoneIfNoAclFound: boolean;
  /** group.consumer.session.timeout.ms (KIP-848) */
  consumerGroupSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (KIP-848) */
  consumerGroupHeartbeatIntervalMs: number;
  /** group.consumer.max.size (KIP-848) */
  consumerGroupMaxSize: number;
  /** group.consumer.migration.policy: online conversion between classic and consumer groups. */
  consumerGroupMigrationPolicy: "bidirectional" | "upgrade" | "downgrade" | "disabled";
  transactionStateLogNumPartitions: number;
  transactionStateLogReplicationFactor: number;
  transactionStateLogMinIsr: number;
  transactionalIdExpirationMs: number;
  transactionMaxTimeoutMs: number;
  producerIdExpirationMs: number;

  quorumElectionTimeoutMs: number;
  quorumFetchTimeoutMs: number;
  quorumElectionBackoffMaxMs: number;
  quorumRequestTimeoutMs: number;
  quorumRetryBackoffMs: number;
  quorumAppendLingerMs: number;
  brokerSessionTimeoutMs: number;
  brokerHeartbeatIntervalMs: number;
  metadataLogSegmentBytes: number;
  metadataLogSegmentMs: number;
  metadataLogMaxRecordBytesBetweenSnapshots: number;
  metadataLogMaxSnapshotIntervalMs: number;
  metadataMaxRetentionBytes: number;
  metadataMaxRetentionMs: number;
  metadataMaxIdleIntervalMs: number;
  /** `kraftling.http.listener` (metrics and health over HTTP); null when off. */
  httpListener: HostPort | null;

  /** `inter.broker.protocol.version` when set (storage format uses it as the release version). */
  interBrokerProtocolVersion: string | null;
  unstableFeatureVersionsEnable: boolean;

  /** The properties exactly as given. */
  originals: ReadonlyMap<string, string>;
  /** The typed value (default filled in) of every broker config in `BROKER_CONFIGS`. */
  values: ReadonlyMap<string, ConfigValue>;
}

/** A config plus what Kafka would log as warnings while loading it. */
export interface ServerConfigResult {
  config: ServerConfig;
  warnings: string[];
}

const DEFAULT_PROTOCOL_MAP: ReadonlyMap<string, string> = new Map(
  SECURITY_PROTOCOLS.map((p) => [p, p]),
);

function num(values: ReadonlyMap<string, ConfigValue>, key: string): number {
  const v = values.get(key);
  if (typeof v !== "number") throw new Error(`Config ${key} has no numeric value`);
  return v;
}

function optNum(values: ReadonlyMap<string, ConfigValue>, key: string): number | null {
  const v = values.get(key);
  return typeof v === "number" ? v : null;
}

function bool(values: ReadonlyMap<string, ConfigValue>, key: string): boolean {
  return values.get(key) === true;
}

function optHostPort(values: ReadonlyMap<string, ConfigValue>, key: string): HostPort | null {
  const text = str(values, key);
  return text === null || text.trim() === "" ? null : parseHostPort(key, text);
}

function str(values: ReadonlyMap<string, ConfigValue>, key: string): string | null {
  const v = values.get(key);
  return typeof v === "string" ? v : null;
}

function list(values: ReadonlyMap<string, ConfigValue>, key: string): string[] {
  const v = values.get(key);
  return Array.isArray(v) ? v : [];
}

function parseRoles(
  values: ReadonlyMap<string, ConfigValue>,
  raw: string | undefined,
): ProcessRole[] {
  const roles = list(values, "process.roles");
  if (roles.length === 0) {
    throw new ConfigError(
      "process.roles",
      "process.roles is not set; kraftling runs only in KRaft mode, so set it to broker, controller or broker,controller",
    );
  }
  if (new Set(roles).size !== roles.length) {
    throw invalidValue("process.roles", raw ?? "", "Duplicate role names found");
  }
  return roles as ProcessRole[];
}

function parseNodeId(values: ReadonlyMap<string, ConfigValue>): number {
  const nodeId = num(values, "node.id");
  const brokerId = num(values, "broker.id");
  if (nodeId >= 0 && brokerId >= 0 && nodeId !== brokerId) {
    throw new ConfigError(
      "node.id",
      `The values for broker.id (${brokerId}) and node.id (${nodeId}) must be the same if both are specified`,
    );
  }
  const id = nodeId >= 0 ? nodeId : brokerId;
  if (id < 0) {
    throw new ConfigError(
      "node.id",
      "Missing required configuration node.id, which has no default value in KRaft mode",
    );
  }
  return id;
}

function parseProtocolMap(
  raw: string | null,
  controllerListenerNames: readonly string[],
): Map<string, string> {
  const key = "listener.security.protocol.map";
  if (raw === null) {
    const map = new Map(DEFAULT_PROTOCOL_MAP);
    // Kafka maps controller listener names to PLAINTEXT when the map is not set explicitly.
    for (const name of controllerListenerNames) if (!map.has(name)) map.set(name, "PLAINTEXT");
    return map;
  }
  const map = new Map<string, string>();
  for (const entry of raw.trim() === "" ? [] : raw.trim().split(/\s*,\s*/)) {
    const colon = entry.lastIndexOf(":");
    const name = entry.slice(0, colon).trim().toUpperCase();
    const protocol = entry.slice(colon + 1).trim().toUpperCase();
    if (colon <= 0 || protocol === "") {
      throw invalidValue(key, raw, `Map entry '${entry}' is improperly formatted`);
    }
    if (!SECURITY_PROTOCOLS.includes(protocol)) {
      throw new ConfigError(
        key,
        `${key} entry ${entry} names unknown security protocol ${protocol}`,
      );
    }
    map.set(name, protocol);
  }
  return map;
}

/** `max.connections.per.ip.overrides` (`host:count,host:count`) as a map. */
function perIpOverrides(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of (text ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const colon = entry.lastIndexOf(":");
    const host = entry.slice(0, colon).trim();
    const count = Number(entry.slice(colon + 1).trim());
    if (colon <= 0 || host === "" || !Number.isInteger(count) || count < 0) {
      throw new ConfigError(
        "max.connections.per.ip.overrides",
        `Invalid max.connections.per.ip.overrides entry ${entry}: expected <host>:<count>`,
      );
    }
    out.set(host, count);
  }
  return out;
}

/** Kafka's KRaft authorizer, the one `authorizer.class.name` may name. */
export const STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

function checkAuthorizer(name: string): string {
  if (name === "" || name === STANDARD_AUTHORIZER) return name;
  throw new ConfigError(
    "authorizer.class.name",
    `authorizer.class.name=${name} is not available: kraftling implements ${STANDARD_AUTHORIZER} (ACLs in the metadata log); ZooKeeper's AclAuthorizer and custom classes cannot be loaded`,
  );
}

function checkSupportedProtocols(endpoints: readonly Endpoint[], key: string): void {
  for (const e of endpoints) {
    if (!SUPPORTED_SECURITY_PROTOCOLS.includes(e.securityProtocol)) {
      throw new ConfigError(
        key,
        `${key} entry ${
          formatEndpoint(e)
        } uses security protocol ${e.securityProtocol}, but kraftling serves only PLAINTEXT and SSL: SASL is not built yet`,
      );
    }
  }
}

interface Listeners {
  listeners: Endpoint[];
  advertisedListeners: Endpoint[];
  controllerListeners: Endpoint[];
  advertisedControllerListeners: Endpoint[];
  interBrokerListenerName: string;
  protocolMap: Map<string, string>;
}

function parseAllListeners(
  values: ReadonlyMap<string, ConfigValue>,
  roles: readonly ProcessRole[],
  controllerListenerNames: readonly string[],
  options: { warnings: string[]; protocolIsExplicit: boolean },
): Listeners {
  const { warnings, protocolIsExplicit } = options;
  const protocolMap = parseProtocolMap(
    str(values, "listener.security.protocol.map"),
    controllerListenerNames,
  );
  const listenersText = str(values, "listeners") ?? "";
  const listeners = parseListeners("listeners", listenersText, protocolMap);
  checkSupportedProtocols(listeners, "listeners");
  const isController = (e: Endpoint) => controllerListenerNames.includes(e.listenerName);
  const advertisedText = str(values, "advertised.listeners");
  const advertisedAll = advertisedText === null
    ? listeners
    : parseListeners("advertised.listeners", advertisedText, protocolMap);
  checkSupportedProtocols(advertisedAll, "advertised.listeners");
  const controllerListeners = listeners.filter(isController);
  const advertisedControllers = advertisedAll.filter(isController);
  const advertisedListeners = advertisedAll.filter((e) => !isController(e));
  const interBrokerListenerName = interBrokerListener(values, protocolIsExplicit);

  if (roles.includes("controller")) {
    for (const name of controllerListenerNames) {
      if (!listeners.some((e) => e.listenerName === name)) {
        throw new ConfigError(
          "controller.listener.names",
          `controller.listener.names entry ${name} is not in listeners (${listenersText})`,
        );
      }
    }
    if (!roles.includes("broker") && listeners.some((e) => !isController(e))) {
      throw new ConfigError(
        "listeners",
        `listeners must contain only the controller listeners named in controller.listener.names (${
          controllerListenerNames.join(",")
        }) when process.roles is controller`,
      );
    }
  }
  for (const name of controllerListenerNames) {
    const protocol = protocolMap.get(name);
    if (protocol === undefined) {
      throw new ConfigError(
        "controller.listener.names",
        `controller.listener.names entry ${name} has no security protocol in listener.security.protocol.map`,
      );
    }
  }
  if (roles.includes("broker")) {
    if (!roles.includes("controller") && controllerListeners.length > 0) {
      throw new ConfigError(
        "listeners",
        `listeners must not contain controller listener ${
          controllerListeners[0]!.listenerName
        } when process.roles is broker; the controllers bind it`,
      );
    }
    if (advertisedText !== null && advertisedControllers.length > 0) {
      throw new ConfigError(
        "advertised.listeners",
        `advertised.listeners must not contain controller listener ${
          advertisedControllers[0]!.listenerName
        } when process.roles contains broker, because clients only talk to brokers`,
      );
    }
    if (!listeners.some((e) => !isController(e))) {
      throw new ConfigError(
        "listeners",
        `listeners (${listenersText}) has no broker listener, but process.roles contains broker`,
      );
    }
    if (!advertisedListeners.some((e) => e.listenerName === interBrokerListenerName)) {
      throw new ConfigError(
        "inter.broker.listener.name",
        `inter.broker.listener.name ${interBrokerListenerName} is not a listener in advertised.listeners (${
          advertisedListeners.map(formatEndpoint).join(",") || "none"
        })`,
      );
    }
    for (const e of advertisedListeners) {
      if (e.host === "0.0.0.0" || e.host === "::") {
        const where = advertisedText === null
          ? "listeners (advertised.listeners is not set)"
          : "advertised.listeners";
        warnings.push(
          `${where} would hand clients the non-routable address ${
            formatEndpoint(e)
          }; set advertised.listeners to a host clients can reach`,
        );
      }
    }
  }
  return {
    listeners,
    advertisedListeners: roles.includes("broker") ? advertisedListeners : [],
    controllerListeners: roles.includes("controller") ? controllerListeners : [],
    advertisedControllerListeners: roles.includes("controller")
      ? (advertisedControllers.length > 0 ? advertisedControllers : controllerListeners)
      : [],
    interBrokerListenerName,
    protocolMap,
  };
}

function interBrokerListener(
  values: ReadonlyMap<string, ConfigValue>,
  protocolIsExplicit: boolean,
): string {
  const name = str(values, "inter.broker.listener.name");
  if (name === null) return str(values, "security.inter.broker.protocol") ?? "PLAINTEXT";
  if (protocolIsExplicit) {
    throw new ConfigError(
      "inter.broker.listener.name",
      "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set",
    );
  }
  return name.toUpperCase();
}

function checkQuorum(
  roles: readonly ProcessRole[],
  nodeId: number,
  voters: readonly QuorumVoter[],
  bootstrapServers: readonly HostPort[],
  votersText: string,
): void {
  if (voters.length === 0 && bootstrapServers.length === 0) {
    throw new ConfigError(
      "controller.quorum.voters",
      "controller.quorum.voters and controller.quorum.bootstrap.servers are both empty; set one so this node can find the controllers",
    );
  }
  if (voters.length === 0) return;
  const isVoter = voters.some((v) => v.nodeId === nodeId);
  if (roles.includes("controller") && !isVoter) {
    throw new ConfigError(
      "controller.quorum.voters",
      `node.id ${nodeId} is not in controller.quorum.voters (${votersText})`,
    );
  }
  if (!roles.includes("controller") && isVoter) {
    throw new ConfigError(
      "controller.quorum.voters",
      `node.id ${nodeId} must not be in controller.quorum.voters (${votersText}) when process.roles is broker`,
    );
  }
}

function resolveValues(
  props: ReadonlyMap<string, string>,
  warnings: string[],
): Map<string, ConfigValue> {
  const values = new Map<string, ConfigValue>();
  for (const [name, def] of BROKER_CONFIGS) {
    values.set(name, resolveConfigValue(def, props.get(name)));
  }
  for (const [key, value] of props) {
    const defaults = JAVA_CLASS_BROKER_KEYS.get(key);
    if (defaults !== undefined) {
      const named = value.trim();
      if (named !== "" && !defaults.includes(named)) {
        throw new ConfigError(
          key,
          key === "config.providers"
            ? `config.providers=${named}: kraftling does not resolve \${provider:path:key} values; remove it and write the values`
            : `${key}=${named} names a Java class, which kraftling cannot load; remove it (it would not be enforced)`,
        );
      }
      continue;
    }
    if (BROKER_CONFIGS.has(key) || IGNORED_BROKER_KEYS.has(key)) continue;
    if (IGNORED_BROKER_KEY_PREFIXES.some((p) => key.startsWith(p))) continue;
    const suggestion = suggestKey(key, knownKeys());
    warnings.push(
      `The configuration '${key}' was supplied but isn't a known config.` +
        (suggestion === null ? "" : ` Did you mean '${suggestion}'?`),
    );
  }
  return values;
}

function logDirsOf(values: ReadonlyMap<string, ConfigValue>): string[] {
  const dirsText = str(values, "log.dirs") ?? str(values, "log.dir") ?? "";
  const dirs = dirsText.trim() === "" ? [] : dirsText.trim().split(/\s*,\s*/);
  if (dirs.length === 0 || dirs.some((d) => d === "")) {
    throw new ConfigError(
      "log.dirs",
      `log.dirs (${dirsText}) must name at least one directory and no empty ones`,
    );
  }
  if (new Set(dirs).size !== dirs.length) {
    throw new ConfigError("log.dirs", `log.dirs (${dirsText}) names a directory more than once`);
  }
  return dirs;
}

function effectiveRetentionMs(values: ReadonlyMap<string, ConfigValue>): number {
  const ms = optNum(values, "log.retention.ms");
  const minutes = optNum(values, "log.retention.minutes");
  const millis = ms ??
    (minutes !== null ? minutes * 60_000 : num(values, "log.retention.hours") * 3_600_000);
  return millis < 0 ? -1 : millis;
}

/**
 * Builds and validates a node config from parsed properties (see `parseProperties`).
 * Throws `ConfigError` for invalid values or combinations.
 *
 * @example
 * ```ts
 * import { parseServerConfig } from "./server_config.ts";
 * const { config, warnings } = parseServerConfig(new Map([
 *   ["process.roles", "broker,controller"],
 *   ["node.id", "1"],
 *   ["controller.quorum.voters", "1@localhost:9093"],
 *   ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
 *   ["advertised.listeners", "PLAINTEXT://localhost:9092"],
 *   ["controller.listener.names", "CONTROLLER"],
 * ]));
 * config.metadataLogDir; // "/tmp/kraft-combined-logs"
 * ```
 */
export function parseServerConfig(props: ReadonlyMap<string, string>): ServerConfigResult {
  try {
    return buildServerConfig(props);
  } catch (error) {
    throw error instanceof ConfigError ? withTypoHint(error, props) : error;
  }
}

/** Every key a node knows, used or accepted and ignored (for "did you mean"). */
function knownKeys(): string[] {
  return [...BROKER_CONFIGS.keys(), ...IGNORED_BROKER_KEYS, ...JAVA_CLASS_BROKER_KEYS.keys()];
}

/**
 * A config error caused by a misspelled key names the typo: an unknown supplied key one or two
 * edits from the key the error is about (`listners` when `listeners` kept its default).
 */
function withTypoHint(error: ConfigError, props: ReadonlyMap<string, string>): ConfigError {
  const known = knownKeys();
  for (const key of props.keys()) {
    if (known.includes(key)) continue;
    const suggestion = suggestKey(key, known);
    if (suggestion === null || props.has(suggestion)) continue;
    if (suggestion === error.key || mentionsKey(error.message, suggestion)) {
      return new ConfigError(
        error.key,
        `${error.message} (the configuration '${key}' was supplied: did you mean '${suggestion}'?)`,
      );
    }
  }
  return error;
}

function buildServerConfig(props: ReadonlyMap<string, string>): ServerConfigResult {
  const warnings: string[] = [];
  const values = resolveValues(props, warnings);
  const processRoles = parseRoles(values, props.get("process.roles"));
  const nodeId = parseNodeId(values);
  const controllerListenerNames = (str(values, "controller.listener.names") ?? "")
    .split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
  if (controllerListenerNames.length === 0) {
    throw new ConfigError(
      "controller.listener.names",
      "controller.listener.names must not be empty in KRaft mode: brokers use it to find the controllers and controllers to bind",
    );
  }
  const l = parseAllListeners(values, processRoles, controllerListenerNames, {
    warnings,
    protocolIsExplicit: props.has("security.inter.broker.protocol"),
  });
  const votersText = list(values, "controller.quorum.voters").join(",");
  const quorumVoters = parseQuorumVoters(list(values, "controller.quorum.voters"));
  const quorumBootstrapServers = list(values, "controller.quorum.bootstrap.servers")
    .map((e) => parseHostPort("controller.quorum.bootstrap.servers", e));
  checkQuorum(processRoles, nodeId, quorumVoters, quorumBootstrapServers, votersText);
  const self = quorumVoters.find((v) => v.nodeId === nodeId);
  if (self !== undefined && !l.controllerListeners.some((e) => e.port === self.port)) {
    warnings.push(
      `controller.quorum.voters gives node ${nodeId} the address ${
        formatHostPort(self)
      }, but no controller listener binds port ${self.port}`,
    );
  }
  const logDirs = logDirsOf(values);
  const metadataLogDir = str(values, "metadata.log.dir") ?? logDirs[0]!;
  const sessionMs = num(values, "broker.session.timeout.ms");
  const heartbeatMs = num(values, "broker.heartbeat.interval.ms");
  if (heartbeatMs * 2 > sessionMs) {
    throw new ConfigError(
      "broker.heartbeat.interval.ms",
      `broker.heartbeat.interval.ms (${heartbeatMs}) must be at most half of broker.session.timeout.ms (${sessionMs})`,
    );
  }
  if (num(values, "group.min.session.timeout.ms") > num(values, "group.max.session.timeout.ms")) {
    throw new ConfigError(
      "group.min.session.timeout.ms",
      "group.min.session.timeout.ms must not be greater than group.max.session.timeout.ms",
    );
  }
  const rollMs = optNum(values, "log.roll.ms") ?? num(values, "log.roll.hours") * 3_600_000;
  const jitterMs = optNum(values, "log.roll.jitter.ms") ??
    num(values, "log.roll.jitter.hours") * 3_600_000;
  const listenerSasl = parseListenerSasl(props, l.listeners);
  const interBrokerSasl = listenerSasl.get(l.interBrokerListenerName);
  const config: ServerConfig = {
    processRoles,
    isBroker: processRoles.includes("broker"),
    isController: processRoles.includes("controller"),
    nodeId,
    quorumVoters,
    quorumBootstrapServers,
    listeners: l.listeners,
    advertisedListeners: l.advertisedListeners,
    controllerListeners: l.controllerListeners,
    advertisedControllerListeners: l.advertisedControllerListeners,
    controllerListenerNames,
    interBrokerListenerName: l.interBrokerListenerName,
    listenerSecurityProtocolMap: l.protocolMap,
    listenerTls: parseListenerTls(props, l.listeners),
    listenerSasl,
    controllerSasl: ["SASL_PLAINTEXT", "SASL_SSL"].includes(
        l.protocolMap.get(controllerListenerNames[0] ?? "") ?? "",
      )
      ? parseControllerSasl(props, controllerListenerNames[0]!)
      : null,
    controllerTls: ["SSL", "SASL_SSL"].includes(
        l.protocolMap.get(controllerListenerNames[0] ?? "") ?? "",
      )
      ? parseControllerClientTls(props, controllerListenerNames[0]!)
      : null,
    interBrokerSasl: processRoles.includes("broker") && interBrokerSasl !== undefined
      ? parseInterBrokerSasl(props, interBrokerSasl)
      : null,
    interBrokerTls: ["SSL", "SASL_SSL"].includes(l.protocolMap.get(l.interBrokerListenerName) ?? "")
      ? { trustStore: parseTrustStore(props, l.interBrokerListenerName) }
      : null,
    logDirs,
    metadataLogDir,
    numPartitions: num(values, "num.partitions"),
    defaultReplicationFactor: num(values, "default.replication.factor"),
    autoCreateTopicsEnable: bool(values, "auto.create.topics.enable"),
    deleteTopicEnable: bool(values, "delete.topic.enable"),
    messageMaxBytes: num(values, "message.max.bytes"),
    socketRequestMaxBytes: num(values, "socket.request.max.bytes"),
    queuedMaxRequests: num(values, "queued.max.requests"),
    connectionsMaxIdleMs: num(values, "connections.max.idle.ms"),
    maxConnections: num(values, "max.connections"),
    maxConnectionsPerIp: num(values, "max.connections.per.ip"),
    quotaWindowCount: num(values, "quota.window.num"),
    quotaWindowSizeMs: num(values, "quota.window.size.seconds") * 1000,
    maxConnectionsPerIpOverrides: perIpOverrides(str(values, "max.connections.per.ip.overrides")),
    replicationQuotaWindowCount: num(values, "replication.quota.window.num"),
    replicationQuotaWindowSizeMs: num(values, "replication.quota.window.size.seconds") * 1000,
    brokerRack: str(values, "broker.rack") || null,
    rackAwareReplicaSelector: str(values, "replica.selector.class") === RACK_AWARE_REPLICA_SELECTOR,
    replicaFetchMaxBytes: num(values, "replica.fetch.max.bytes"),
    replicaLagTimeMaxMs: num(values, "replica.lag.time.max.ms"),
    autoLeaderRebalanceEnable: bool(values, "auto.leader.rebalance.enable"),
    leaderImbalanceCheckIntervalMs: num(values, "leader.imbalance.check.interval.seconds") * 1000,
    leaderImbalancePerBrokerPercentage: num(values, "leader.imbalance.per.broker.percentage"),
    uncleanLeaderElectionIntervalMs: num(values, "unclean.leader.election.interval.ms"),
    fetchMaxBytes: num(values, "fetch.max.bytes"),
    logSegmentBytes: num(values, "log.segment.bytes"),
    logRollMs: rollMs,
    logRollJitterMs: jitterMs,
    logRetentionMs: effectiveRetentionMs(values),
    logRetentionBytes: num(values, "log.retention.bytes"),
    logRetentionCheckIntervalMs: num(values, "log.retention.check.interval.ms"),
    logCleanupPolicy: list(values, "log.cleanup.policy"),
    logFlushIntervalMessages: num(values, "log.flush.interval.messages"),
    logFlushIntervalMs: optNum(values, "log.flush.interval.ms") ??
      num(values, "log.flush.scheduler.interval.ms"),
    logIndexSizeMaxBytes: num(values, "log.index.size.max.bytes"),
    logIndexIntervalBytes: num(values, "log.index.interval.bytes"),
    logSegmentDeleteDelayMs: num(values, "log.segment.delete.delay.ms"),
    logMessageTimestampType: str(values, "log.message.timestamp.type") as
      | "CreateTime"
      | "LogAppendTime",
    logCleanerDeleteRetentionMs: num(values, "log.cleaner.delete.retention.ms"),
    logCleanerMinCompactionLagMs: num(values, "log.cleaner.min.compaction.lag.ms"),
    logCleanerMaxCompactionLagMs: num(values, "log.cleaner.max.compaction.lag.ms"),
    logCleanerMinCleanableRatio: num(values, "log.cleaner.min.cleanable.ratio"),
    logPreallocate: bool(values, "log.preallocate"),
    compressionType: str(values, "compression.type")!,
    minInsyncReplicas: num(values, "min.insync.replicas"),
    uncleanLeaderElectionEnable: bool(values, "unclean.leader.election.enable"),
    offsetsTopicNumPartitions: num(values, "offsets.topic.num.partitions"),
    offsetsTopicReplicationFactor: num(values, "offsets.topic.replication.factor"),
    offsetsTopicSegmentBytes: num(values, "offsets.topic.segment.bytes"),
    offsetsRetentionMs: num(values, "offsets.retention.minutes") * 60_000,
    offsetsRetentionCheckIntervalMs: num(values, "offsets.retention.check.interval.ms"),
    offsetMetadataMaxBytes: num(values, "offset.metadata.max.bytes"),
    groupInitialRebalanceDelayMs: num(values, "group.initial.rebalance.delay.ms"),
    groupMinSessionTimeoutMs: num(values, "group.min.session.timeout.ms"),
    groupMaxSessionTimeoutMs: num(values, "group.max.session.timeout.ms"),
    groupMaxSize: num(values, "group.max.size"),
    authorizerClassName: checkAuthorizer(str(values, "authorizer.class.name") ?? ""),
    superUsers: (str(values, "super.users") ?? "").split(";").map((s) => s.trim())
      .filter((s) => s !== ""),
    allowEveryoneIfNoAclFound: bool(values, "allow.everyone.if.no.acl.found"),
    consumerGroupSessionTimeoutMs: num(values, "group.consumer.session.timeout.ms"),
    consumerGroupHeartbeatIntervalMs: num(values, "group.consumer.heartbeat.interval.ms"),
    consumerGroupMaxSize: num(values, "group.consumer.max.size"),
    consumerGroupMigrationPolicy: str(values, "group.consumer.migration.policy")!
      .toLowerCase() as ServerConfig["consumerGroupMigrationPolicy"],
    transactionStateLogNumPartitions: num(values, "transaction.state.log.num.partitions"),
    transactionStateLogReplicationFactor: num(values, "transaction.state.log.replication.factor"),
    transactionStateLogMinIsr: num(values, "transaction.state.log.min.isr"),
    transactionalIdExpirationMs: num(values, "transactional.id.expiration.ms"),
    transactionMaxTimeoutMs: num(values, "transaction.max.timeout.ms"),
    producerIdExpirationMs: num(values, "producer.id.expiration.ms"),
    quorumElectionTimeoutMs: num(values, "controller.quorum.election.timeout.ms"),
    quorumFetchTimeoutMs: num(values, "controller.quorum.fetch.timeout.ms"),
    quorumElectionBackoffMaxMs: num(values, "controller.quorum.election.backoff.max.ms"),
    quorumRequestTimeoutMs: num(values, "controller.quorum.request.timeout.ms"),
    quorumRetryBackoffMs: num(values, "controller.quorum.retry.backoff.ms"),
    quorumAppendLingerMs: num(values, "controller.quorum.append.linger.ms"),
    brokerSessionTimeoutMs: sessionMs,
    brokerHeartbeatIntervalMs: heartbeatMs,
    metadataLogSegmentBytes: num(values, "metadata.log.segment.bytes"),
    metadataLogSegmentMs: num(values, "metadata.log.segment.ms"),
    metadataLogMaxRecordBytesBetweenSnapshots: num(
      values,
      "metadata.log.max.record.bytes.between.snapshots",
    ),
    metadataLogMaxSnapshotIntervalMs: num(values, "metadata.log.max.snapshot.interval.ms"),
    metadataMaxRetentionBytes: num(values, "metadata.max.retention.bytes"),
    metadataMaxRetentionMs: num(values, "metadata.max.retention.ms"),
    metadataMaxIdleIntervalMs: num(values, "metadata.max.idle.interval.ms"),
    httpListener: optHostPort(values, "kraftling.http.listener"),
    interBrokerProtocolVersion: str(values, "inter.broker.protocol.version"),
    unstableFeatureVersionsEnable: bool(values, "unstable.feature.versions.enable"),
    originals: new Map(props),
    values,
  };
  return { config, warnings };
}

/** Where a described config value comes from (Kafka's `DescribeConfigsResponse` config sources). */
export type ConfigSource =
  | "DEFAULT_CONFIG"
  | "STATIC_BROKER_CONFIG"
  | "DYNAMIC_DEFAULT_BROKER_CONFIG"
  | "DYNAMIC_BROKER_CONFIG"
  | "TOPIC_CONFIG";

/**
 * The default a topic gets for `topicKey` on this broker: the broker synonym's value from
 * `server.properties` (source STATIC_BROKER_CONFIG), else Kafka's default (DEFAULT_CONFIG).
 * Values are strings as DescribeConfigs returns them.
 *
 * @example
 * ```ts
 * import { parseServerConfig, topicDefault } from "./server_config.ts";
 * const { config } = parseServerConfig(new Map([["process.roles", "broker"], ["node.id", "2"],
 *   ["controller.quorum.voters", "1@localhost:9093"], ["controller.listener.names", "CONTROLLER"],
 *   ["log.retention.hours", "1"]]));
 * topicDefault(config, "retention.ms"); // { value: "3600000", source: "STATIC_BROKER_CONFIG" }
 * ```
 */
export function topicDefault(
  config: ServerConfig,
  topicKey: string,
): { value: string | null; source: ConfigSource } {
  const def = TOPIC_CONFIGS.get(topicKey);
  if (def === undefined) throw new ConfigError(topicKey, `Unknown topic config name: ${topicKey}`);
  const o = config.originals;
  const has = (...keys: string[]) => keys.some((k) => o.has(k));
  const source = (set: boolean): ConfigSource => (set ? "STATIC_BROKER_CONFIG" : "DEFAULT_CONFIG");
  switch (topicKey) {
    case "retention.ms":
      return {
        value: String(config.logRetentionMs),
        source: source(has("log.retention.ms", "log.retention.minutes", "log.retention.hours")),
      };
    case "segment.ms":
      return {
        value: String(config.logRollMs),
        source: source(has("log.roll.ms", "log.roll.hours")),
      };
    case "segment.jitter.ms":
      return {
        value: String(config.logRollJitterMs),
        source: source(has("log.roll.jitter.ms", "log.roll.jitter.hours")),
      };
    case "flush.ms": {
      const set = has("log.flush.interval.ms", "log.flush.scheduler.interval.ms");
      return {
        value: set ? String(config.logFlushIntervalMs) : def.defaultText,
        source: source(set),
      };
    }
  }
  const synonym = def.brokerSynonym;
  if (synonym !== undefined && o.has(synonym) && BROKER_CONFIGS.has(synonym)) {
    const v = config.values.get(synonym);
    return { value: Array.isArray(v) ? v.join(",") : String(v), source: "STATIC_BROKER_CONFIG" };
  }
  return { value: def.defaultText, source: "DEFAULT_CONFIG" };
}
