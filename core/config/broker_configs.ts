/**
 * The broker (`server.properties`) config definitions kraftling understands, with Kafka 3.9's
 * names, types, defaults, validators and dynamic-update modes, plus the Kafka keys it accepts and
 * ignores so that real `server.properties` files load.
 *
 * @module
 */

import {
  atLeast,
  between,
  type ConfigDef,
  type ConfigType,
  type DynamicMode,
  inList,
  INT_MAX,
  listOf,
  LONG_MAX_TEXT,
  type Validator,
} from "./config_def.ts";

function def(
  name: string,
  type: ConfigType,
  defaultText: string | null,
  options: { validator?: Validator; dynamic?: DynamicMode; sensitive?: boolean } = {},
): ConfigDef {
  return { name, type, defaultText, ...options };
}

const CLUSTER = { dynamic: "cluster-wide" } as const;
const PER_BROKER = { dynamic: "per-broker" } as const;

/**
 * Kafka's rack-aware replica selector (KIP-392), the one `replica.selector.class` kraftling has:
 * consumers that name their rack (`client.rack`) are sent to an in-sync replica in that rack.
 */
export const RACK_AWARE_REPLICA_SELECTOR =
  "org.apache.kafka.common.replica.RackAwareReplicaSelector";

/** Compression codecs a topic or broker may name (`compression.type`). */
export const COMPRESSION_TYPES = ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/**
 * Security protocols Kafka knows, in the order of their ids (SecurityProtocol.id); kraftling
 * serves PLAINTEXT and SSL, not SASL yet.
 */
export const SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/**
 * Every broker config kraftling reads, in Kafka's spelling, with Kafka 3.9's defaults.
 *
 * @example
 * ```ts
 * import { BROKER_CONFIGS } from "./broker_configs.ts";
 * BROKER_CONFIGS.get("message.max.bytes")?.defaultText; // "1048588"
 * ```
 */
export const BROKER_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map(
  [
    // KRaft (KRaftConfigs, QuorumConfig)
    def("process.roles", "list", "", { validator: listOf("broker", "controller") }),
    def("node.id", "int", "-1"),
    def("broker.id", "int", "-1"),
    def("controller.listener.names", "string", null),
    def("controller.quorum.voters", "list", ""),
    def("controller.quorum.bootstrap.servers", "list", ""),
    def("controller.quorum.election.timeout.ms", "int", "1000"),
    def("controller.quorum.fetch.timeout.ms", "int", "2000"),
    def("controller.quorum.election.backoff.max.ms", "int", "1000"),
    def("controller.quorum.request.timeout.ms", "int", "2000"),
    def("controller.quorum.retry.backoff.ms", "int", "20"),
    def("controller.quorum.append.linger.ms", "int", "25"),
    def("broker.session.timeout.ms", "int", "9000"),
    def("broker.heartbeat.interval.ms", "int", "2000"),
    def("metadata.log.dir", "string", null),
    def("metadata.log.segment.bytes", "int", "1073741824", { validator: atLeast(12) }),
    def("metadata.log.segment.ms", "long", "604800000"),
    def("metadata.log.max.record.bytes.between.snapshots", "long", "20971520", {
      validator: atLeast(1),
    }),
    def("metadata.log.max.snapshot.interval.ms", "long", "3600000", { validator: atLeast(0) }),
    def("metadata.max.retention.bytes", "long", "104857600"),
    def("metadata.max.retention.ms", "long", "604800000"),
    def("metadata.max.idle.interval.ms", "int", "500", { validator: atLeast(0) }),
    // Sockets (SocketServerConfigs)
    def("listeners", "string", "PLAINTEXT://:9092", PER_BROKER),
    def("advertised.listeners", "string", null, PER_BROKER),
    def("listener.security.protocol.map", "string", null, PER_BROKER),
    def("inter.broker.listener.name", "string", null),
    // kraftling's own: the HTTP listener for /metrics, /healthz and /readyz (off unless set).
    def("kraftling.http.listener", "string", null),
    def("security.inter.broker.protocol", "string", "PLAINTEXT", {
      validator: inList(...SECURITY_PROTOCOLS),
    }),
    def("socket.request.max.bytes", "int", "104857600", { validator: atLeast(1) }),
    def("socket.send.buffer.bytes", "int", "102400"),
    def("socket.receive.buffer.bytes", "int", "102400"),
    def("queued.max.requests", "int", "500", { validator: atLeast(1) }),
    def("num.network.threads", "int", "3", { validator: atLeast(1), ...CLUSTER }),
    def("num.io.threads", "int", "8", { validator: atLeast(1), ...CLUSTER }),
    def("connections.max.idle.ms", "long", "600000"),
    def("max.connections", "int", String(INT_MAX), { validator: atLeast(0), ...CLUSTER }),
    // KIP-612: new connections per second, for the node and (listener.name.<l>.) per listener.
    def("max.connection.creation.rate", "int", String(INT_MAX), {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("max.connections.per.ip", "int", String(INT_MAX), { validator: atLeast(0), ...CLUSTER }),
    def("max.connections.per.ip.overrides", "string", "", { ...CLUSTER }),
    // Client quotas (QuotaConfig): the windows rates are sampled over
    def("quota.window.num", "int", "11", { validator: atLeast(1) }),
    def("quota.window.size.seconds", "int", "1", { validator: atLeast(1) }),
    // Topics and logs (ServerLogConfigs, ServerConfigs)
    def("log.dir", "string", "/tmp/kraft-combined-logs"),
    def("log.dirs", "string", null),
    def("num.partitions", "int", "1", { validator: atLeast(1) }),
    def("default.replication.factor", "int", "1"),
    def("auto.create.topics.enable", "boolean", "true"),
    def("delete.topic.enable", "boolean", "true"),
    def("message.max.bytes", "int", "1048588", { validator: atLeast(0), ...CLUSTER }),
    def("log.segment.bytes", "int", "1073741824", { validator: atLeast(14), ...CLUSTER }),
    def("log.roll.ms", "long", null, CLUSTER),
    def("log.roll.hours", "int", "168", { validator: atLeast(1) }),
    def("log.roll.jitter.ms", "long", null, CLUSTER),
    def("log.roll.jitter.hours", "int", "0", { validator: atLeast(0) }),
    def("log.retention.ms", "long", null, CLUSTER),
    def("log.retention.minutes", "int", null),
    def("log.retention.hours", "int", "168"),
    def("log.retention.bytes", "long", "-1", CLUSTER),
    def("log.retention.check.interval.ms", "long", "300000", { validator: atLeast(1) }),
    def("log.cleanup.policy", "list", "delete", {
      validator: listOf("compact", "delete"),
      ...CLUSTER,
    }),
    def("log.flush.interval.messages", "long", LONG_MAX_TEXT, {
      validator: atLeast(1),
      ...CLUSTER,
    }),
    def("log.flush.interval.ms", "long", null, CLUSTER),
    def("log.flush.scheduler.interval.ms", "long", LONG_MAX_TEXT),
    def("log.flush.offset.checkpoint.interval.ms", "int", "60000", { validator: atLeast(0) }),
    def("log.index.size.max.bytes", "int", "10485760", { validator: atLeast(4), ...CLUSTER }),
    def("log.index.interval.bytes", "int", "4096", { validator: atLeast(0), ...CLUSTER }),
    def("log.segment.delete.delay.ms", "long", "60000", { validator: atLeast(0), ...CLUSTER }),
    def("log.preallocate", "boolean", "false", CLUSTER),
    def("log.message.timestamp.type", "string", "CreateTime", {
      validator: inList("CreateTime", "LogAppendTime"),
      ...CLUSTER,
    }),
    def("log.message.timestamp.before.max.ms", "long", LONG_MAX_TEXT, {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("log.message.timestamp.after.max.ms", "long", LONG_MAX_TEXT, {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("log.message.downconversion.enable", "boolean", "true", CLUSTER),
    def("log.cleaner.enable", "boolean", "true"),
    def("log.cleaner.backoff.ms", "long", "15000", { validator: atLeast(0) }),
    def("log.cleaner.threads", "int", "1", { validator: atLeast(0), ...CLUSTER }),
    def("log.cleaner.io.max.bytes.per.second", "double", "1.7976931348623157E308", {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    // The key map of one cleaning (Kafka's dedupe buffer, split between the cleaner threads).
    def("log.cleaner.dedupe.buffer.size", "long", "134217728", {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("log.cleaner.delete.retention.ms", "long", "86400000", {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("log.cleaner.min.compaction.lag.ms", "long", "0", { validator: atLeast(0), ...CLUSTER }),
    def("log.cleaner.max.compaction.lag.ms", "long", LONG_MAX_TEXT, {
      validator: atLeast(1),
      ...CLUSTER,
    }),
    def("log.cleaner.min.cleanable.ratio", "double", "0.5", {
      validator: between(0, 1),
      ...CLUSTER,
    }),
    def("log.local.retention.ms", "long", "-2", CLUSTER),
    def("log.local.retention.bytes", "long", "-2", CLUSTER),
    def("compression.type", "string", "producer", {
      validator: inList(...COMPRESSION_TYPES),
      ...CLUSTER,
    }),
    def("compression.gzip.level", "int", "-1", CLUSTER),
    def("compression.lz4.level", "int", "9", { validator: between(1, 17), ...CLUSTER }),
    def("compression.zstd.level", "int", "3", { validator: between(-131072, 22), ...CLUSTER }),
    def("min.insync.replicas", "int", "1", { validator: atLeast(1), ...CLUSTER }),
    def("unclean.leader.election.enable", "boolean", "false", CLUSTER),
    def("num.recovery.threads.per.data.dir", "int", "2", { validator: atLeast(1), ...CLUSTER }),
    // Replication
    // Rack awareness: replica placement across racks (the controller) and KIP-392 follower
    // fetching, where a consumer in a rack reads from the in-sync replica in its rack.
    def("broker.rack", "string", null),
    def("replica.selector.class", "class", null, {
      validator: (v) =>
        v === null || v === RACK_AWARE_REPLICA_SELECTOR
          ? null
          : `kraftling has one replica selector: ${RACK_AWARE_REPLICA_SELECTOR}`,
    }),
    // Replication quotas (KIP-73): bytes per second for the replicas topics mark as throttled.
    def("leader.replication.throttled.rate", "long", LONG_MAX_TEXT, {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("follower.replication.throttled.rate", "long", LONG_MAX_TEXT, {
      validator: atLeast(0),
      ...CLUSTER,
    }),
    def("replication.quota.window.num", "int", "11", { validator: atLeast(1) }),
    def("replication.quota.window.size.seconds", "int", "1", { validator: atLeast(1) }),
    def("replica.fetch.max.bytes", "int", "1048576", { validator: atLeast(0) }),
    def("replica.fetch.min.bytes", "int", "1", { validator: atLeast(1) }),
    def("replica.fetch.wait.max.ms", "int", "500", { validator: atLeast(0) }),
    def("replica.fetch.backoff.ms", "int", "1000", { validator: atLeast(0) }),
    def("replica.fetch.response.max.bytes", "int", "10485760", { validator: atLeast(0) }),
    def("replica.lag.time.max.ms", "long", "30000"),
    def("replica.high.watermark.checkpoint.interval.ms", "long", "5000", {
      validator: atLeast(1),
    }),
    // JBOD (KIP-858): how long a failed log dir may go unreported before the broker stops.
    def("log.dir.failure.timeout.ms", "long", "30000", { validator: atLeast(1) }),
    // Leader balance on the active controller (ReplicationConfigs)
    def("auto.leader.rebalance.enable", "boolean", "true"),
    def("leader.imbalance.check.interval.seconds", "long", "300", { validator: atLeast(1) }),
    def("leader.imbalance.per.broker.percentage", "int", "10"),
    def("unclean.leader.election.interval.ms", "long", "300000", { validator: atLeast(1) }),
    def("fetch.max.bytes", "int", "57671680", { validator: atLeast(1024) }),
    // Group coordinator (GroupCoordinatorConfig)
    def("offsets.topic.num.partitions", "int", "50", { validator: atLeast(1) }),
    def("offsets.topic.replication.factor", "short", "3", { validator: atLeast(1) }),
    def("offsets.topic.segment.bytes", "int", "104857600", { validator: atLeast(1) }),
    def("offsets.retention.minutes", "int", "10080", { validator: atLeast(1) }),
    def("offsets.retention.check.interval.ms", "long", "600000", { validator: atLeast(1) }),
    def("offsets.commit.timeout.ms", "int", "5000", { validator: atLeast(1) }),
    def("offset.metadata.max.bytes", "int", "4096"),
    def("group.initial.rebalance.delay.ms", "int", "3000"),
    def("group.min.session.timeout.ms", "int", "6000"),
    def("group.max.session.timeout.ms", "int", "1800000"),
    def("group.max.size", "int", String(INT_MAX), { validator: atLeast(1) }),
    // Authorization (StandardAuthorizer, KIP-801)
    def("authorizer.class.name", "string", ""),
    def("super.users", "string", null),
    def("allow.everyone.if.no.acl.found", "boolean", "false"),
    // KIP-848 consumer groups (GroupCoordinatorConfig)
    def("group.consumer.session.timeout.ms", "int", "45000", { validator: atLeast(1) }),
    def("group.consumer.heartbeat.interval.ms", "int", "5000", { validator: atLeast(1) }),
    def("group.consumer.max.size", "int", String(INT_MAX), { validator: atLeast(1) }),
    def("group.consumer.migration.policy", "string", "bidirectional", {
      validator: inList("bidirectional", "upgrade", "downgrade", "disabled"),
    }),
    // Transactions (TransactionLogConfigs)
    def("transaction.state.log.num.partitions", "int", "50", { validator: atLeast(1) }),
    def("transaction.state.log.replication.factor", "short", "3", { validator: atLeast(1) }),
    def("transaction.state.log.min.isr", "int", "2", { validator: atLeast(1) }),
    def("transaction.state.log.segment.bytes", "int", "104857600", { validator: atLeast(1) }),
    def("transactional.id.expiration.ms", "int", "604800000", { validator: atLeast(1) }),
    def("transaction.max.timeout.ms", "int", "900000", { validator: atLeast(1) }),
    def("producer.id.expiration.ms", "int", "86400000", { validator: atLeast(1), ...CLUSTER }),
    // Features
    def("inter.broker.protocol.version", "string", null),
    def("unstable.feature.versions.enable", "boolean", "false"),
    def("unstable.api.versions.enable", "boolean", "false"),
  ].map((d) => [d.name, d]),
);

/**
 * Kafka broker keys that kraftling accepts and does not act on (threads, metrics, quotas, TLS,
 * ZooKeeper, tiered storage, ...). Loading them is silent; unknown keys produce a warning.
 */
export const IGNORED_BROKER_KEYS: ReadonlySet<string> = new Set([
  "background.threads",
  "num.replica.fetchers",
  "num.replica.alter.log.dirs.threads",
  "replica.socket.timeout.ms",
  "replica.socket.receive.buffer.bytes",
  "controlled.shutdown.enable",
  "controlled.shutdown.max.retries",
  "controlled.shutdown.retry.backoff.ms",
  "broker.id.generation.enable",
  "reserved.broker.max.id",
  "metric.reporters",
  "metrics.num.samples",
  "metrics.sample.window.ms",
  "metrics.recording.level",
  "kafka.metrics.reporters",
  "kafka.metrics.polling.interval.secs",
  "auto.include.jmx.reporter",
  "security.providers",
  "connection.failed.authentication.delay.ms",
  "connections.max.reauth.ms",
  "socket.listen.backlog.size",
  "socket.connection.setup.timeout.ms",
  "socket.connection.setup.timeout.max.ms",
  "num.quota.samples",
  "alter.log.dirs.replication.quota.window.num",
  "alter.log.dirs.replication.quota.window.size.seconds",
  "delegation.token.master.key",
  "delegation.token.secret.key",
  "delegation.token.expiry.time.ms",
  "delegation.token.max.lifetime.ms",
  "delegation.token.expiry.check.interval.ms",
  "log.cleaner.io.buffer.size",
  "log.cleaner.io.buffer.load.factor",
  "log.flush.start.offset.checkpoint.interval.ms",
  "log.message.format.version",
  "log.message.timestamp.difference.max.ms",
  "log.initial.task.delay.ms",
  "offsets.load.buffer.size",
  "offsets.commit.required.acks",
  "group.coordinator.new.enable",
  "group.coordinator.rebalance.protocols",
  "group.coordinator.threads",
  "group.consumer.assignors",
  "transaction.abort.timed.out.transaction.cleanup.interval.ms",
  "transaction.remove.expired.transaction.cleanup.interval.ms",
  "transaction.state.log.load.buffer.size",
  "transaction.partition.verification.enable",
  "producer.id.expiration.check.interval.ms",
  "producer.purgatory.purge.interval.requests",
  "fetch.purgatory.purge.interval.requests",
  "delete.records.purgatory.purge.interval.requests",
  "max.incremental.fetch.session.cache.slots",
  "queued.max.request.bytes",
  "request.timeout.ms",
  "metadata.log.max.snapshot.cache.size",
  "early.start.listeners",
  "initial.broker.registration.timeout.ms",
  "broker.heartbeat.interval.ms.jitter",
  "sasl.enabled.mechanisms",
  "sasl.mechanism.inter.broker.protocol",
  "sasl.mechanism.controller.protocol",
  "zookeeper.metadata.migration.enable",
  "eligible.leader.replicas.enable",
  "telemetry.max.bytes",
  "config.providers",
]);

/**
 * Keys naming Java classes that decide what the broker allows or who a client is. kraftling cannot
 * load them, and a policy that silently does not run is worse than none, so a value other than
 * Kafka's default (listed per key) is refused at start-up.
 */
export const JAVA_CLASS_BROKER_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ["create.topic.policy.class.name", []],
  ["alter.config.policy.class.name", []],
  [
    "principal.builder.class",
    ["org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"],
  ],
  ["client.quota.callback.class", []],
  // ${provider:path:key} placeholders would be used as literal values.
  ["config.providers", []],
]);

/** Key prefixes Kafka accepts for families of configs kraftling ignores (TLS, SASL, per-listener). */
export const IGNORED_BROKER_KEY_PREFIXES: readonly string[] = [
  "listener.name.",
  "ssl.",
  "sasl.",
  "zookeeper.",
  "remote.log.",
  "log.cleaner.",
  "config.providers.",
];
