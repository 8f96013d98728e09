import assert from "node:assert/strict";
import { createFeatureLevelRecord } from "../protocol/generated/feature_level_record.ts";
import {
  createCursor,
  createDescribeTopicPartitionsRequest,
  createTopicRequest,
} from "../protocol/generated/describe_topic_partitions_request.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { tick } from "../../core/metadata/broker_control.ts";
import { ELR_VERSION_FEATURE, makeRecord, RecordType } from "../../core/metadata/records.ts";
import { TestCluster } from "../../core/metadata/testing.ts";
import { describeTopicPartitions } from "./describe_topic_partitions.ts";

function cluster(): TestCluster {
  const c = new TestCluster();
  c.commit([makeRecord(
    RecordType.FEATURE_LEVEL,
    0,
    createFeatureLevelRecord({ name: ELR_VERSION_FEATURE, featureLevel: 1 }),
  )]);
  c.addBrokers([1, 2, 3]);
  c.createTopic("b", [[1, 2, 3], [2, 3, 1], [3, 1, 2]], { "min.insync.replicas": "2" });
  c.createTopic("a", [[1, 2, 3]]);
  return c;
}

function request(names: string[], limit = 2000, cursor: [string, number] | null = null) {
  return createDescribeTopicPartitionsRequest({
    topics: names.map((name) => createTopicRequest({ name })),
    responsePartitionLimit: limit,
    cursor: cursor === null
      ? null
      : createCursor({ topicName: cursor[0], partitionIndex: cursor[1] }),
  });
}

Deno.test("DescribeTopicPartitions reports each partition's ELR and LastKnownElr (KIP-966)", () => {
  const c = cluster();
  // Brokers 2 then 3 miss their heartbeats: b-0's ISR falls to [1], 3 stays eligible.
  c.nowMs += c.config.brokerSessionTimeoutMs + 1;
  c.heartbeat(1);
  c.heartbeat(3);
  let fenced = tick(c.image, c.ctx());
  c.commit(fenced.records);
  c.sessions = fenced.sessions;
  c.nowMs += c.config.brokerSessionTimeoutMs + 1;
  c.heartbeat(1);
  fenced = tick(c.image, c.ctx());
  c.commit(fenced.records);
  const r = describeTopicPartitions(c.image, request(["b"]));
  const p0 = r.topics[0]!.partitions[0]!;
  assert.deepEqual(
    [p0.leaderId, p0.isrNodes, p0.eligibleLeaderReplicas, p0.lastKnownElr, p0.offlineReplicas],
    [1, [1], [3], [], [2, 3]],
  );
  assert.equal(r.topics[0]!.errorCode, ErrorCode.NONE);
});

Deno.test("DescribeTopicPartitions answers topics in name order and unknown ones with an error", () => {
  const r = describeTopicPartitions(cluster().image, request(["nope", "b", "a"]));
  assert.deepEqual(r.topics.map((t) => [t.name, t.errorCode, t.partitions.length]), [
    ["a", ErrorCode.NONE, 1],
    ["b", ErrorCode.NONE, 3],
    ["nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
  ]);
  assert.equal(r.nextCursor, null);
  // An empty list is every topic.
  assert.deepEqual(
    describeTopicPartitions(cluster().image, request([])).topics.map((t) => t.name),
    [
      "a",
      "b",
    ],
  );
});

Deno.test("DescribeTopicPartitions pages by the partition limit with a cursor", () => {
  const image = cluster().image;
  const first = describeTopicPartitions(image, request([], 2));
  assert.deepEqual(first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [
    ["a", [0]],
    ["b", [0]],
  ]);
  assert.deepEqual(first.nextCursor, createCursor({ topicName: "b", partitionIndex: 1 }));
  const second = describeTopicPartitions(image, request([], 2, ["b", 1]));
  assert.deepEqual(second.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [
    ["b", [1, 2]],
  ]);
  assert.equal(second.nextCursor, null);
  // A page that ends exactly at a topic's end points at the next topic.
  const exact = describeTopicPartitions(image, request([], 1));
  assert.deepEqual(exact.nextCursor, createCursor({ topicName: "b", partitionIndex: 0 }));
  // The broker's cap wins over a larger request, and the limit is at least 1.
  assert.equal(
    describeTopicPartitions(image, request([], 0)).topics.flatMap((t) => t.partitions).length,
    1,
  );
});
