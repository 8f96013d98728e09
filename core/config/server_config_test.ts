// Expected defaults and rules follow Kafka 3.9's KafkaConfig, KRaftConfigs and QuorumConfig.
import { deepEqual, equal, match, throws } from "node:assert/strict";
import { ConfigError } from "./config_def.ts";
import { parseProperties } from "./properties.ts";
import { parseServerConfig, topicDefault } from "./server_config.ts";
import { TOPIC_CONFIGS, validateTopicConfig } from "./topic_configs.ts";

const COMBINED = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
`;

function load(text: string, extra: Record<string, string | null> = {}) {
  const props = parseProperties(text);
  for (const [k, v] of Object.entries(extra)) v === null ? props.delete(k) : props.set(k, v);
  return parseServerConfig(props);
}

function errorOf(text: string, extra: Record<string, string | null> = {}): string {
  try {
    load(text, extra);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("a combined node gets Kafka's defaults for everything it does not set", () => {
  const { config, warnings } = load(COMBINED);
  deepEqual(warnings, []);
  deepEqual(config.processRoles, ["broker", "controller"]);
  equal(config.nodeId, 1);
  deepEqual(config.quorumVoters, [{ nodeId: 1, host: "localhost", port: 9093 }]);
  deepEqual(config.logDirs, ["/tmp/kraft-combined-logs"]);
  equal(config.metadataLogDir, "/tmp/kraft-combined-logs");
  equal(config.numPartitions, 1);
  equal(config.defaultReplicationFactor, 1);
  equal(config.autoCreateTopicsEnable, true);
  equal(config.offsetsTopicNumPartitions, 50);
  equal(config.offsetsTopicReplicationFactor, 3);
  equal(config.groupInitialRebalanceDelayMs, 3000);
  equal(config.groupMinSessionTimeoutMs, 6000);
  equal(config.groupMaxSessionTimeoutMs, 1800000);
  equal(config.messageMaxBytes, 1048588);
  equal(config.socketRequestMaxBytes, 104857600);
  equal(config.queuedMaxRequests, 500);
  equal(config.logSegmentBytes, 1073741824);
  equal(config.logRetentionMs, 168 * 3600000);
  equal(config.logRetentionBytes, -1);
  equal(config.quorumElectionTimeoutMs, 1000);
  equal(config.quorumFetchTimeoutMs, 2000);
  equal(config.quorumElectionBackoffMaxMs, 1000);
  equal(config.quorumRequestTimeoutMs, 2000);
  equal(config.quorumAppendLingerMs, 25);
  equal(config.brokerSessionTimeoutMs, 9000);
  equal(config.brokerHeartbeatIntervalMs, 2000);
  equal(config.metadataLogMaxRecordBytesBetweenSnapshots, 20 * 1024 * 1024);
  equal(config.metadataMaxRetentionBytes, 100 * 1024 * 1024);
  equal(config.interBrokerListenerName, "PLAINTEXT");
  deepEqual(config.advertisedListeners.map((e) => `${e.listenerName} ${e.host}:${e.port}`), [
    "PLAINTEXT localhost:9092",
  ]);
  deepEqual(config.controllerListeners.map((e) => e.port), [9093]);
  equal(config.listenerSecurityProtocolMap.get("CONTROLLER"), "PLAINTEXT");
});

Deno.test("log.retention.ms beats minutes, which beat hours, and negative means unlimited", () => {
  equal(load(COMBINED, { "log.retention.hours": "2" }).config.logRetentionMs, 7200000);
  equal(
    load(COMBINED, { "log.retention.hours": "2", "log.retention.minutes": "3" }).config
      .logRetentionMs,
    180000,
  );
  equal(
    load(COMBINED, { "log.retention.minutes": "3", "log.retention.ms": "5" }).config
      .logRetentionMs,
    5,
  );
  equal(load(COMBINED, { "log.retention.ms": "-5" }).config.logRetentionMs, -1);
});

Deno.test("log.dirs beats log.dir and metadata.log.dir defaults to the first log dir", () => {
  const { config } = load(COMBINED, { "log.dir": "/x", "log.dirs": "/a, /b" });
  deepEqual(config.logDirs, ["/a", "/b"]);
  equal(config.metadataLogDir, "/a");
  equal(load(COMBINED, { "log.dir": "/x" }).config.metadataLogDir, "/x");
  equal(load(COMBINED, { "metadata.log.dir": "/m" }).config.metadataLogDir, "/m");
});

Deno.test("Long.MAX_VALUE defaults parse to the largest safe integer", () => {
  equal(load(COMBINED).config.logFlushIntervalMessages, Number.MAX_SAFE_INTEGER);
  equal(load(COMBINED).config.logFlushIntervalMs, Number.MAX_SAFE_INTEGER);
});

Deno.test("a missing node.id is an error naming node.id, and broker.id stands in for it", () => {
  const message = errorOf(COMBINED, { "node.id": null });
  equal(message.includes("node.id"), true);
  equal(load(COMBINED, { "node.id": null, "broker.id": "1" }).config.nodeId, 1);
  equal(
    errorOf(COMBINED, { "broker.id": "2" }),
    "The values for broker.id (2) and node.id (1) must be the same if both are specified",
  );
});

Deno.test("an unknown process role is an error naming process.roles", () => {
  equal(
    errorOf(COMBINED, { "process.roles": "broker,zookeeper" }),
    "Invalid value broker,zookeeper for configuration process.roles: Invalid value zookeeper; must be one of [broker, controller]",
  );
  equal(errorOf(COMBINED, { "process.roles": null }).startsWith("process.roles is not set"), true);
  equal(
    errorOf(COMBINED, { "process.roles": "broker,broker" }).includes("Duplicate role names"),
    true,
  );
});

Deno.test("a controller's node.id must be among the static voters", () => {
  equal(
    errorOf(COMBINED, { "node.id": "4" }),
    "node.id 4 is not in controller.quorum.voters (1@localhost:9093)",
  );
});

Deno.test("a broker-only node must not be a voter", () => {
  equal(
    errorOf(
      "process.roles=broker\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n" +
        "controller.listener.names=CONTROLLER",
    ),
    "node.id 1 must not be in controller.quorum.voters (1@localhost:9093) when process.roles is broker",
  );
});

Deno.test("voters and bootstrap servers must be well-formed host:port entries", () => {
  equal(
    errorOf(COMBINED, { "controller.quorum.voters": "1@localhost" }),
    "controller.quorum.voters entry 1@localhost is not in the form id@host:port",
  );
  equal(
    errorOf(COMBINED, { "controller.quorum.voters": "x@localhost:9093" }),
    "controller.quorum.voters entry x@localhost:9093 is not in the form id@host:port",
  );
  equal(
    errorOf(COMBINED, { "controller.quorum.voters": "1@localhost:99999" }),
    "controller.quorum.voters entry 1@localhost:99999 has port 99999, outside 0..65535",
  );
  equal(
    errorOf(COMBINED, {
      "controller.quorum.voters": null,
      "controller.quorum.bootstrap.servers": "localhost",
    }),
    "controller.quorum.bootstrap.servers entry localhost is not in the form host:port",
  );
  equal(
    errorOf(COMBINED, { "controller.quorum.voters": "1@[::1]:9093,1@h:1" }),
    "controller.quorum.voters lists node id 1 more than once",
  );
});

Deno.test("bracketed IPv6 voter hosts parse", () => {
  deepEqual(load(COMBINED, { "controller.quorum.voters": "1@[::1]:9093" }).config.quorumVoters, [
    { nodeId: 1, host: "::1", port: 9093 },
  ]);
});

Deno.test("a dynamic quorum uses controller.quorum.bootstrap.servers instead of voters", () => {
  const { config } = load(COMBINED, {
    "controller.quorum.voters": null,
    "controller.quorum.bootstrap.servers": "localhost:9093",
  });
  deepEqual(config.quorumVoters, []);
  deepEqual(config.quorumBootstrapServers, [{ host: "localhost", port: 9093 }]);
  equal(
    errorOf(COMBINED, { "controller.quorum.voters": null }).startsWith(
      "controller.quorum.voters and controller.quorum.bootstrap.servers are both empty",
    ),
    true,
  );
});

Deno.test("every controller.listener.names entry must be in listeners on a controller", () => {
  equal(
    errorOf(COMBINED, { "listeners": "PLAINTEXT://:9092" }),
    "controller.listener.names entry CONTROLLER is not in listeners (PLAINTEXT://:9092)",
  );
  equal(
    errorOf(COMBINED, { "controller.listener.names": null }).startsWith(
      "controller.listener.names must not be empty",
    ),
    true,
  );
});

Deno.test("a controller-only node may bind only controller listeners", () => {
  equal(
    errorOf(COMBINED, { "process.roles": "controller", "advertised.listeners": null }).startsWith(
      "listeners must contain only the controller listeners",
    ),
    true,
  );
  const { config } = load(COMBINED, {
    "process.roles": "controller",
    "listeners": "CONTROLLER://:9093",
    "advertised.listeners": null,
  });
  deepEqual(config.advertisedListeners, []);
  deepEqual(config.advertisedControllerListeners.map((e) => e.port), [9093]);
});

Deno.test("advertised.listeners defaults to listeners minus the controller listeners", () => {
  const { config, warnings } = load(COMBINED, {
    "listeners": "PLAINTEXT://myhost:9092,CONTROLLER://:9093",
    "advertised.listeners": null,
  });
  deepEqual(config.advertisedListeners.map((e) => `${e.host}:${e.port}`), ["myhost:9092"]);
  deepEqual(warnings, []);
});

Deno.test("advertising 0.0.0.0 to clients is a warning returned as data", () => {
  const { warnings } = load(COMBINED, {
    "listeners": "PLAINTEXT://0.0.0.0:9092,CONTROLLER://:9093",
    "advertised.listeners": null,
  });
  equal(warnings.length, 1);
  equal(warnings[0]!.includes("PLAINTEXT://0.0.0.0:9092"), true);
});

Deno.test("a broker must advertise its inter-broker listener and no controller listener", () => {
  equal(
    errorOf(COMBINED, { "advertised.listeners": "PLAINTEXT://h:9092,CONTROLLER://h:9093" })
      .startsWith("advertised.listeners must not contain controller listener CONTROLLER"),
    true,
  );
  equal(
    errorOf(COMBINED, { "inter.broker.listener.name": "INTERNAL" }),
    "inter.broker.listener.name INTERNAL is not a listener in advertised.listeners (PLAINTEXT://localhost:9092)",
  );
});

Deno.test("an SSL controller listener gives raft and the controller channel a trust store", () => {
  const { config } = load(COMBINED, {
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
    "ssl.keystore.type": "PEM",
    "ssl.keystore.location": "/etc/k/server.pem",
    "ssl.truststore.type": "PEM",
    "ssl.truststore.location": "/etc/k/ca.pem",
  });
  equal(config.controllerTls?.trustStore?.kind, "file");
  equal(load(COMBINED).config.controllerTls, null, "plaintext controllers: no TLS");
});

Deno.test("a listener without a security protocol is an error naming it", () => {
  equal(
    errorOf(COMBINED, { "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:9094" }),
    "listeners entry INTERNAL://:9094 names listener INTERNAL, which has no security protocol in listener.security.protocol.map",
  );
  equal(
    errorOf(COMBINED, { "listeners": "PLAINTEXT://9092,CONTROLLER://:9093" }),
    "listeners entry PLAINTEXT://9092 is not in the form NAME://host:port",
  );
});

Deno.test("bad numbers and ranges use Kafka's ConfigException wording", () => {
  equal(
    errorOf(COMBINED, { "num.partitions": "abc" }),
    "Invalid value abc for configuration num.partitions: Not a number of type INT",
  );
  equal(
    errorOf(COMBINED, { "num.partitions": "0" }),
    "Invalid value 0 for configuration num.partitions: Value must be at least 1",
  );
  equal(
    errorOf(COMBINED, { "auto.create.topics.enable": "yes" }),
    "Invalid value yes for configuration auto.create.topics.enable: Expected value to be either true or false",
  );
  equal(
    errorOf(COMBINED, { "message.max.bytes": "3000000000" }),
    "Invalid value 3000000000 for configuration message.max.bytes: Not a number of type INT",
  );
});

Deno.test("known-but-ignored Kafka keys load silently; unknown keys warn", () => {
  const { warnings } = load(COMBINED, {
    "num.network.threads": "3",
    "num.io.threads": "8",
    "num.recovery.threads.per.data.dir": "1",
    "transaction.state.log.min.isr": "1",
    "ssl.keystore.location": "/x",
    "socket.send.buffer.bytes": "102400",
    "log.retention.check.interval.ms": "300000",
    "num.replica.fetchers": "1",
    "nmu.partitions": "3",
  });
  deepEqual(warnings, [
    "The configuration 'nmu.partitions' was supplied but isn't a known config. " +
    "Did you mean 'num.partitions'?",
  ]);
});

Deno.test("the heartbeat interval must be at most half the session timeout", () => {
  equal(
    errorOf(COMBINED, { "broker.heartbeat.interval.ms": "5000" }),
    "broker.heartbeat.interval.ms (5000) must be at most half of broker.session.timeout.ms (9000)",
  );
});

Deno.test("topic defaults come from the broker synonym or Kafka's default, with their source", () => {
  const { config } = load(COMBINED, {
    "log.retention.hours": "1",
    "log.segment.bytes": "1048576",
    "log.cleanup.policy": "compact",
  });
  deepEqual(topicDefault(config, "retention.ms"), {
    value: "3600000",
    source: "STATIC_BROKER_CONFIG",
  });
  deepEqual(topicDefault(config, "segment.bytes"), {
    value: "1048576",
    source: "STATIC_BROKER_CONFIG",
  });
  deepEqual(topicDefault(config, "cleanup.policy"), {
    value: "compact",
    source: "STATIC_BROKER_CONFIG",
  });
  deepEqual(topicDefault(config, "max.message.bytes"), {
    value: "1048588",
    source: "DEFAULT_CONFIG",
  });
  deepEqual(topicDefault(config, "flush.ms"), {
    value: "9223372036854775807",
    source: "DEFAULT_CONFIG",
  });
});

Deno.test("every topic config with a broker synonym names a broker config or a known-ignored key", () => {
  for (const def of TOPIC_CONFIGS.values()) {
    equal(typeof def.name, "string");
  }
  equal(TOPIC_CONFIGS.get("segment.ms")?.brokerSynonym, "log.roll.ms");
  equal(TOPIC_CONFIGS.get("min.insync.replicas")?.defaultText, "1");
});

Deno.test("topic config validation names the key and the reason", () => {
  deepEqual(validateTopicConfig("cleanup.policy", "compact, delete"), ["compact", "delete"]);
  equal(validateTopicConfig("retention.ms", "-1"), -1);
  throws(() => validateTopicConfig("retention.ms", "-2"), {
    message: "Invalid value -2 for configuration retention.ms: Value must be at least -1",
  });
  throws(() => validateTopicConfig("cleanup.policy", "forever"), {
    message:
      "Invalid value forever for configuration cleanup.policy: Invalid value forever; must be one of [compact, delete]",
  });
  throws(() => validateTopicConfig("message.timestamp.type", "Now"), {
    message:
      "Invalid value Now for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime",
  });
  throws(() => validateTopicConfig("retention.mss", "1"), {
    message: "Unknown topic config name: retention.mss",
  });
});

Deno.test("keys naming Java classes kraftling cannot load are refused unless they name Kafka's default", () => {
  match(
    errorOf(COMBINED, { "create.topic.policy.class.name": "com.acme.TopicPolicy" }),
    /create\.topic\.policy\.class\.name=com\.acme\.TopicPolicy names a Java class/,
  );
  match(
    errorOf(COMBINED, { "principal.builder.class": "com.acme.Builder" }),
    /principal\.builder\.class/,
  );
  match(errorOf(COMBINED, { "config.providers": "file" }), /does not resolve/);
  const defaults = load(COMBINED, {
    "principal.builder.class":
      "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder",
    "create.topic.policy.class.name": "",
  });
  deepEqual(defaults.warnings, []);
});
