import assert from "node:assert/strict";
import { createAllocateProducerIdsRequest } from "../../net/protocol/generated/allocate_producer_ids_request.ts";
import {
  createAlterableConfig as createLegacyConfig,
  createAlterConfigsRequest,
  createAlterConfigsResource as createLegacyResource,
} from "../../net/protocol/generated/alter_configs_request.ts";
import {
  createCreatePartitionsAssignment,
  createCreatePartitionsRequest,
  createCreatePartitionsTopic,
} from "../../net/protocol/generated/create_partitions_request.ts";
import {
  createCreatableReplicaAssignment,
  createCreatableTopic,
  createCreatableTopicConfig,
  createCreateTopicsRequest,
} from "../../net/protocol/generated/create_topics_request.ts";
import {
  createDeleteTopicsRequest,
  createDeleteTopicState,
} from "../../net/protocol/generated/delete_topics_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  createAlterableConfig,
  createAlterConfigsResource,
  createIncrementalAlterConfigsRequest,
} from "../../net/protocol/generated/incremental_alter_configs_request.ts";
import {
  createFeatureUpdateKey,
  createUpdateFeaturesRequest,
} from "../../net/protocol/generated/update_features_request.ts";
import { ZERO_UUID } from "../../net/protocol/uuid.ts";
import {
  allocateProducerIds,
  alterConfigs,
  ConfigOperation,
  createPartitions,
  createTopics,
  deleteTopics,
  incrementalAlterConfigs,
  topicNameError,
  updateFeatures,
} from "./controller.ts";
import { ConfigResourceType, metadataVersion, resourceConfigs } from "./image.ts";
import { RecordType } from "./records.ts";
import { TestCluster, testConfig } from "./testing.ts";

function topic(name: string, numPartitions = 1, replicationFactor = 1) {
  return createCreatableTopic({ name, numPartitions, replicationFactor });
}

function create(cluster: TestCluster, ...topics: ReturnType<typeof topic>[]) {
  return cluster.run(
    createTopics(cluster.image, createCreateTopicsRequest({ topics }), cluster.ctx()),
  );
}

Deno.test("a topic can be created, deleted and created again with a new id", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const first = create(cluster, topic("orders", 3, 2)).topics[0]!;
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(first.numPartitions, 3);
  assert.equal(first.replicationFactor, 2);
  const t = cluster.image.topics.byName.get("orders")!;
  assert.equal(t.id, first.topicId);
  assert.equal(t.partitions.size, 3);
  for (const p of t.partitions.values()) {
    assert.equal(p.replicas.length, 2);
    assert.deepEqual(p.isr, p.replicas);
    assert.equal(p.leader, p.replicas[0]);
    assert.equal(p.leaderEpoch, 0);
  }
  assert.equal(
    create(cluster, topic("orders")).topics[0]!.errorCode,
    ErrorCode.TOPIC_ALREADY_EXISTS,
  );

  const deleted = cluster.run(deleteTopics(
    cluster.image,
    createDeleteTopicsRequest({ topicNames: ["orders"] }),
    cluster.ctx(),
  ));
  assert.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE);
  assert.equal(cluster.image.topics.byName.has("orders"), false);

  const again = create(cluster, topic("orders")).topics[0]!;
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.notEqual(again.topicId, first.topicId);
});

Deno.test("illegal topic names are INVALID_TOPIC_EXCEPTION, as Kafka's Topic.validate", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  for (const name of ["", ".", "..", "a".repeat(250), "has space", "bad/slash", "ünï"]) {
    const result = create(cluster, topic(name)).topics[0]!;
    assert.equal(result.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, JSON.stringify(name));
    assert.ok(result.errorMessage);
  }
  assert.equal(topicNameError("a".repeat(249)), null);
  assert.equal(topicNameError("a.b_c-D9"), null);
  assert.equal(cluster.image.topics.byName.size, 0);
});

Deno.test("topics whose names differ only by '.' and '_' collide", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  assert.equal(create(cluster, topic("a.b")).topics[0]!.errorCode, ErrorCode.NONE);
  assert.equal(
    create(cluster, topic("a_b")).topics[0]!.errorCode,
    ErrorCode.INVALID_TOPIC_EXCEPTION,
  );
  const both = create(cluster, topic("x_y"), topic("x.y")).topics;
  assert.equal(both[0]!.errorCode, ErrorCode.NONE);
  assert.equal(both[1]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
});

Deno.test("a topic named twice in one request is INVALID_REQUEST", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  const results = create(cluster, topic("dup"), topic("dup")).topics;
  assert.deepEqual(results.map((r) => r.errorCode), [
    ErrorCode.INVALID_REQUEST,
    ErrorCode.INVALID_REQUEST,
  ]);
});

Deno.test("a replication factor above the unfenced brokers is INVALID_REPLICATION_FACTOR", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  cluster.register(3); // registered but still fenced
  const r = create(cluster, topic("t", 1, 3)).topics[0]!;
  assert.equal(r.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(
    create(cluster, topic("t", 0, 1)).topics[0]!.errorCode,
    ErrorCode.INVALID_PARTITIONS,
  );
  assert.equal(
    create(cluster, topic("t", 1, 0)).topics[0]!.errorCode,
    ErrorCode.INVALID_REPLICATION_FACTOR,
  );
});

Deno.test("-1 partitions and replication factor take the broker defaults", () => {
  const cluster = new TestCluster({
    config: testConfig({ defaultNumPartitions: 4, defaultReplicationFactor: 2 }),
  });
  cluster.addBrokers([1, 2]);
  const r = create(cluster, topic("d", -1, -1)).topics[0]!;
  assert.equal(r.numPartitions, 4);
  assert.equal(r.replicationFactor, 2);
});

Deno.test("manual assignments are used as given and checked", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const manual = (assignments: [number, number[]][], np = -1, rf = -1) =>
    create(
      cluster,
      createCreatableTopic({
        name: `m${cluster.nextOffset}`,
        numPartitions: np,
        replicationFactor: rf,
        assignments: assignments.map(([partitionIndex, brokerIds]) =>
          createCreatableReplicaAssignment({ partitionIndex, brokerIds })
        ),
      }),
    ).topics[0]!;
  const ok = manual([[0, [3, 1]], [1, [2, 3]]]);
  assert.equal(ok.errorCode, ErrorCode.NONE);
  const t = cluster.image.topics.byName.get(ok.name)!;
  assert.deepEqual(t.partitions.get(0)!.replicas, [3, 1]);
  assert.equal(t.partitions.get(0)!.leader, 3);
  assert.equal(manual([[0, [1, 1]]]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([[0, [9]]]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([[0, [1]], [2, [2]]]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([[0, [1]], [1, [2, 3]]]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([[0, [1]]], 1, -1).errorCode, ErrorCode.INVALID_REQUEST);
});

Deno.test("topic configs are validated by the caller's validator and reported from v5", () => {
  const cluster = new TestCluster({
    config: testConfig({
      validateConfig: (_type, name, value) =>
        name === "retention.ms" && !/^-?\d+$/.test(value ?? "")
          ? `Invalid value ${value} for retention.ms`
          : null,
      topicConfigDefaults: new Map([["retention.ms", "604800000"], ["cleanup.policy", "delete"]]),
    }),
  });
  cluster.addBrokers([1]);
  const withConfig = (value: string) =>
    createCreatableTopic({
      name: "c",
      numPartitions: 1,
      replicationFactor: 1,
      configs: [createCreatableTopicConfig({ name: "retention.ms", value })],
    });
  const bad = create(cluster, withConfig("soon")).topics[0]!;
  assert.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
  const good = create(cluster, withConfig("1000")).topics[0]!;
  assert.equal(good.errorCode, ErrorCode.NONE);
  assert.equal(
    resourceConfigs(cluster.image, ConfigResourceType.TOPIC, "c").get("retention.ms"),
    "1000",
  );
  const configs = new Map(good.configs!.map((c) => [c.name, [c.value, c.configSource]]));
  assert.deepEqual(configs.get("retention.ms"), ["1000", 1]);
  assert.deepEqual(configs.get("cleanup.policy"), ["delete", 5]);
});

Deno.test("validate_only creates nothing but answers as if it had", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  const result = createTopics(
    cluster.image,
    createCreateTopicsRequest({ topics: [topic("v", 2, 1)], validateOnly: true }),
    cluster.ctx(),
  );
  assert.equal(result.records.length, 0);
  assert.equal(result.response.topics[0]!.errorCode, ErrorCode.NONE);
  assert.equal(result.response.topics[0]!.numPartitions, 2);
});

Deno.test("DeleteTopics by unknown name or id answers UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  const id = create(cluster, topic("x")).topics[0]!.topicId;
  const r = cluster.run(deleteTopics(
    cluster.image,
    createDeleteTopicsRequest({
      topicNames: ["nope"],
      topics: [
        createDeleteTopicState({ name: null, topicId: "AAAAAAAAAAAAAAAAAAAABA" }),
        createDeleteTopicState({ name: null, topicId: id }),
      ],
    }),
    cluster.ctx(),
  )).responses;
  assert.deepEqual(r.map((x) => x.errorCode), [
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNKNOWN_TOPIC_ID,
    ErrorCode.NONE,
  ]);
  assert.equal(r[2]!.name, "x");
  assert.equal(cluster.image.topics.byId.has(id), false);
  assert.notEqual(id, ZERO_UUID);
});

Deno.test("CreatePartitions only grows a topic", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  create(cluster, topic("p", 2, 2));
  const grow = (count: number, assignments: number[][] | null = null) =>
    cluster.run(createPartitions(
      cluster.image,
      createCreatePartitionsRequest({
        topics: [createCreatePartitionsTopic({
          name: "p",
          count,
          assignments: assignments?.map((brokerIds) =>
            createCreatePartitionsAssignment({ brokerIds })
          ) ??
            null,
        })],
      }),
      cluster.ctx(),
    )).results[0]!.errorCode;
  assert.equal(grow(2), ErrorCode.INVALID_PARTITIONS);
  assert.equal(grow(1), ErrorCode.INVALID_PARTITIONS);
  assert.equal(grow(4), ErrorCode.NONE);
  const t = cluster.image.topics.byName.get("p")!;
  assert.equal(t.partitions.size, 4);
  assert.equal(t.partitions.get(3)!.replicas.length, 2);
  assert.equal(grow(5, [[3, 1]]), ErrorCode.NONE);
  assert.deepEqual(cluster.image.topics.byName.get("p")!.partitions.get(4)!.replicas, [3, 1]);
  assert.equal(grow(6, [[1]]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(grow(7, [[1, 2]]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
});

Deno.test("IncrementalAlterConfigs sets, deletes, appends and subtracts", () => {
  const cluster = new TestCluster({
    config: testConfig({ isListConfig: (_t, name) => name === "cleanup.policy" }),
  });
  cluster.addBrokers([1]);
  create(cluster, topic("cfg"));
  const alter = (
    resourceType: number,
    resourceName: string,
    ops: [string, number, string | null][],
  ) =>
    cluster.run(incrementalAlterConfigs(
      cluster.image,
      createIncrementalAlterConfigsRequest({
        resources: [createAlterConfigsResource({
          resourceType,
          resourceName,
          configs: ops.map(([name, configOperation, value]) =>
            createAlterableConfig({ name, configOperation, value })
          ),
        })],
      }),
      cluster.ctx(),
    )).responses[0]!.errorCode;
  const topicConfigs = () => resourceConfigs(cluster.image, ConfigResourceType.TOPIC, "cfg");
  const { SET, DELETE, APPEND, SUBTRACT } = ConfigOperation;
  assert.equal(alter(ConfigResourceType.TOPIC, "cfg", [["retention.ms", SET, "10"]]), 0);
  assert.equal(topicConfigs().get("retention.ms"), "10");
  assert.equal(alter(ConfigResourceType.TOPIC, "cfg", [["cleanup.policy", APPEND, "compact"]]), 0);
  assert.equal(alter(ConfigResourceType.TOPIC, "cfg", [["cleanup.policy", APPEND, "delete"]]), 0);
  assert.equal(topicConfigs().get("cleanup.policy"), "compact,delete");
  assert.equal(
    alter(ConfigResourceType.TOPIC, "cfg", [["cleanup.policy", SUBTRACT, "compact"]]),
    0,
  );
  assert.equal(topicConfigs().get("cleanup.policy"), "delete");
  assert.equal(
    alter(ConfigResourceType.TOPIC, "cfg", [["retention.ms", APPEND, "5"]]),
    ErrorCode.INVALID_CONFIG,
  );
  assert.equal(alter(ConfigResourceType.TOPIC, "cfg", [["retention.ms", DELETE, null]]), 0);
  assert.equal(topicConfigs().has("retention.ms"), false);
  assert.equal(
    alter(ConfigResourceType.TOPIC, "missing", [["retention.ms", SET, "1"]]),
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  );
  assert.equal(alter(ConfigResourceType.BROKER, "", [["log.retention.ms", SET, "7"]]), 0);
  assert.equal(alter(ConfigResourceType.BROKER, "1", [["log.retention.ms", SET, "8"]]), 0);
  assert.equal(
    resourceConfigs(cluster.image, ConfigResourceType.BROKER, "").get("log.retention.ms"),
    "7",
  );
  assert.equal(alter(ConfigResourceType.BROKER, "x", [["a", SET, "1"]]), ErrorCode.INVALID_REQUEST);
});

Deno.test("legacy AlterConfigs replaces every override of the resource", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  create(cluster, topic("legacy"));
  const alter = (configs: [string, string][]) =>
    cluster.run(alterConfigs(
      cluster.image,
      createAlterConfigsRequest({
        resources: [createLegacyResource({
          resourceType: ConfigResourceType.TOPIC,
          resourceName: "legacy",
          configs: configs.map(([name, value]) => createLegacyConfig({ name, value })),
        })],
      }),
      cluster.ctx(),
    ));
  alter([["a", "1"], ["b", "2"]]);
  alter([["b", "3"]]);
  assert.deepEqual([...resourceConfigs(cluster.image, ConfigResourceType.TOPIC, "legacy")], [[
    "b",
    "3",
  ]]);
});

Deno.test("producer id blocks are handed out in increasing, non-overlapping order", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  let previousEnd = 0n;
  for (let i = 0; i < 5; i++) {
    const id = 1 + (i % 2);
    const epoch = BigInt(cluster.image.cluster.brokers.get(id)!.epoch);
    const r = cluster.run(allocateProducerIds(
      cluster.image,
      createAllocateProducerIdsRequest({ brokerId: id, brokerEpoch: epoch }),
      cluster.ctx(),
    ));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.producerIdLen, 1000);
    assert.equal(r.producerIdStart, previousEnd);
    previousEnd = r.producerIdStart + 1000n;
  }
  assert.equal(cluster.image.nextProducerId, 5000n);
  const stale = allocateProducerIds(
    cluster.image,
    createAllocateProducerIdsRequest({ brokerId: 1, brokerEpoch: 999n }),
    cluster.ctx(),
  );
  assert.equal(stale.response.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(stale.records.length, 0);
});

Deno.test("metadata.version upgrades only within every node's supported range", () => {
  const cluster = new TestCluster({ metadataVersion: 14 });
  cluster.addBrokers([1]);
  const update = (level: number, upgradeType = 1) =>
    cluster.run(updateFeatures(
      cluster.image,
      createUpdateFeaturesRequest({
        featureUpdates: [
          createFeatureUpdateKey({
            feature: "metadata.version",
            maxVersionLevel: level,
            upgradeType,
          }),
        ],
      }),
      cluster.ctx(),
    )).results[0]!.errorCode;
  assert.equal(update(22), ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(update(21), ErrorCode.NONE);
  assert.equal(metadataVersion(cluster.image), 21);
  assert.equal(update(17, 2), ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(update(0, 3), ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(metadataVersion(cluster.image), 21);
  assert.ok(cluster.log.some((r) => r.type === RecordType.FEATURE_LEVEL));
});

Deno.test("a request for more than 10,000 partitions is POLICY_VIOLATION and creates nothing", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  // 2^31 - 1 partitions held the controller placing replicas until the node stopped answering.
  for (const topics of [[topic("huge", 2147483647)], [topic("a", 6000), topic("b", 5000)]]) {
    const results = create(cluster, ...topics).topics;
    assert.ok(results.every((r) => r.errorCode === ErrorCode.POLICY_VIOLATION));
  }
  assert.equal(cluster.image.topics.byName.size, 0);
  assert.equal(create(cluster, topic("ok", 10_000)).topics[0]!.errorCode, ErrorCode.NONE);

  create(cluster, topic("grow", 1));
  const grow = (count: number) =>
    cluster.run(createPartitions(
      cluster.image,
      createCreatePartitionsRequest({
        topics: [createCreatePartitionsTopic({ name: "grow", count, assignments: null })],
      }),
      cluster.ctx(),
    )).results[0]!.errorCode;
  assert.equal(grow(2147483647), ErrorCode.POLICY_VIOLATION);
  assert.equal(cluster.image.topics.byName.get("grow")!.partitions.size, 1);
  assert.equal(grow(3), ErrorCode.NONE);
});
