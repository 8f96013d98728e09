// Messages follow Kafka 3.9's LogConfig.validate and DynamicBrokerConfig.validateConfigs.
import assert from "node:assert/strict";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createCreatableTopic,
  createCreateTopicsRequest,
} from "../protocol/generated/create_topics_request.ts";
import {
  createAlterableConfig,
  createAlterConfigsResource,
  createIncrementalAlterConfigsRequest,
} from "../protocol/generated/incremental_alter_configs_request.ts";
import { parseServerConfig } from "../../core/config/server_config.ts";
import { TOPIC_CONFIGS } from "../../core/config/topic_configs.ts";
import { createTopics, incrementalAlterConfigs } from "../../core/metadata/controller.ts";
import { ConfigResourceType, resourceConfigs } from "../../core/metadata/image.ts";
import { TestCluster, testConfig } from "../../core/metadata/testing.ts";
import { brokerConfigError, controllerConfigHooks, topicConfigError } from "./config_validation.ts";

const { TOPIC, BROKER } = ConfigResourceType;

function serverConfig(extra: [string, string][] = []) {
  return parseServerConfig(
    new Map([
      ["process.roles", "broker,controller"],
      ["node.id", "1"],
      ["controller.quorum.voters", "1@localhost:9093"],
      ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
      ["controller.listener.names", "CONTROLLER"],
      ...extra,
    ]),
  ).config;
}

Deno.test("topic configs are checked by name, type and range", () => {
  assert.equal(topicConfigError("foo", "1"), "Unknown topic config name: foo");
  assert.equal(
    topicConfigError("retention.ms", "soon"),
    "Invalid value soon for configuration retention.ms: Not a number of type LONG",
  );
  assert.equal(
    topicConfigError("min.insync.replicas", "0"),
    "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1",
  );
  assert.equal(topicConfigError("cleanup.policy", "compact,delete"), null);
  // Deleting is judged on what remains, so it is always acceptable.
  assert.equal(topicConfigError("foo", null), null);
  // No tiered storage: a topic cannot ask for it (as Kafka with it disabled).
  assert.match(topicConfigError("remote.storage.enable", "true")!, /Tiered Storage .* disabled/);
  assert.equal(topicConfigError("remote.storage.enable", "false"), null);
});

Deno.test("only dynamic broker configs may change, with valid values", () => {
  assert.equal(
    brokerConfigError("1", "log.dirs", "/tmp/x"),
    "Cannot update these configs dynamically: Set(log.dirs)",
  );
  assert.equal(
    brokerConfigError("", "security.inter.broker.protocol", "PLAINTEXT"),
    "Cannot update these configs dynamically: Set(security.inter.broker.protocol)",
  );
  assert.equal(brokerConfigError("", "log.retention.ms", "1000"), null);
  assert.equal(
    brokerConfigError("", "num.io.threads", "0"),
    "Invalid value 0 for configuration num.io.threads: Value must be at least 1",
  );
  assert.equal(
    brokerConfigError("", "listeners", "PLAINTEXT://:9092"),
    "Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)",
  );
  assert.equal(brokerConfigError("1", "listeners", "PLAINTEXT://:9092"), null);
  // Custom configs are allowed (DynamicConfig.validate with customPropsAllowed), deletes too.
  assert.equal(brokerConfigError("", "my.plugin.setting", "x"), null);
  assert.equal(brokerConfigError("", "log.dirs", null), null);
});

Deno.test("the controller hooks know list configs and a new topic's defaults", () => {
  const hooks = controllerConfigHooks(serverConfig([["log.retention.hours", "1"]]));
  assert.equal(hooks.isListConfig(TOPIC, "cleanup.policy"), true);
  assert.equal(hooks.isListConfig(TOPIC, "retention.ms"), false);
  assert.equal(hooks.isListConfig(BROKER, "log.cleanup.policy"), true);
  assert.equal(hooks.isListConfig(BROKER, "unknown"), false);
  assert.equal(hooks.topicConfigDefaults.size, TOPIC_CONFIGS.size);
  assert.equal(hooks.topicConfigDefaults.get("retention.ms"), "3600000");
  assert.equal(hooks.topicConfigDefaults.get("cleanup.policy"), "delete");
  assert.equal(hooks.validateConfig(TOPIC, "foo", "1"), "Unknown topic config name: foo");
  assert.equal(
    hooks.validateConfig(BROKER, "node.id", "2"),
    "Cannot update these configs dynamically: Set(node.id)",
  );
});

Deno.test("the controller rejects bad topic and broker configs through the hooks", () => {
  const cluster = new TestCluster({
    config: testConfig(controllerConfigHooks(serverConfig())),
  });
  cluster.addBrokers([1]);
  const created = cluster.run(createTopics(
    cluster.image,
    createCreateTopicsRequest({
      topics: [createCreatableTopic({ name: "t", numPartitions: 1, replicationFactor: 1 })],
    }),
    cluster.ctx(),
  ));
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  const alter = (resourceType: number, resourceName: string, name: string, value: string) =>
    cluster.run(incrementalAlterConfigs(
      cluster.image,
      createIncrementalAlterConfigsRequest({
        resources: [createAlterConfigsResource({
          resourceType,
          resourceName,
          configs: [createAlterableConfig({ name, configOperation: 0, value })],
        })],
      }),
      cluster.ctx(),
    )).responses[0]!;
  const unknown = alter(TOPIC, "t", "retention.mss", "1");
  assert.equal(unknown.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(unknown.errorMessage, "Unknown topic config name: retention.mss");
  assert.equal(alter(TOPIC, "t", "retention.ms", "1000").errorCode, ErrorCode.NONE);
  assert.equal(alter(BROKER, "", "log.dirs", "/x").errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(alter(BROKER, "", "log.retention.ms", "1000").errorCode, ErrorCode.NONE);
  assert.equal(resourceConfigs(cluster.image, TOPIC, "t").get("retention.ms"), "1000");
  assert.equal(resourceConfigs(cluster.image, BROKER, "").get("log.retention.ms"), "1000");
});
