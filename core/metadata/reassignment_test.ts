// KIP-455 partition reassignment, checked against Kafka 3.9's ReplicationControlManager and
// PartitionReassignmentReplicas / PartitionReassignmentRevert.
import assert from "node:assert/strict";
import {
  createAlterPartitionRequest,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
import {
  createAlterPartitionReassignmentsRequest,
  createReassignablePartition,
  createReassignableTopic,
} from "../../net/protocol/generated/alter_partition_reassignments_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  createListPartitionReassignmentsRequest,
  createListPartitionReassignmentsTopics,
} from "../../net/protocol/generated/list_partition_reassignments_request.ts";
import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import { alterPartition } from "./broker_control.ts";
import { alterPartitionReassignments, listPartitionReassignments } from "./reassignment.ts";
import { makeRecord, RecordType } from "./records.ts";
import { TestCluster } from "./testing.ts";

function reassign(cluster: TestCluster, topic: string, moves: Record<number, number[] | null>) {
  const response = cluster.run(alterPartitionReassignments(
    cluster.image,
    createAlterPartitionReassignmentsRequest({
      topics: [createReassignableTopic({
        name: topic,
        partitions: Object.entries(moves).map(([i, replicas]) =>
          createReassignablePartition({ partitionIndex: Number(i), replicas })
        ),
      })],
    }),
    cluster.ctx(),
  ));
  return response.responses[0]!.partitions.map((p) => p.errorCode);
}

function listed(cluster: TestCluster, topics: Record<string, number[]> | null = null) {
  const response = listPartitionReassignments(
    cluster.image,
    createListPartitionReassignmentsRequest({
      topics: topics === null
        ? null
        : Object.entries(topics).map(([name, partitionIndexes]) =>
          createListPartitionReassignmentsTopics({ name, partitionIndexes })
        ),
    }),
    cluster.ctx(),
  ).response;
  return response.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      partition: `${t.name}-${p.partitionIndex}`,
      replicas: p.replicas,
      adding: p.addingReplicas,
      removing: p.removingReplicas,
    }))
  );
}

/** The leader of partition 0 of `topic` sets the ISR (AlterPartition v2). */
function setIsr(cluster: TestCluster, topic: string, newIsr: number[]): number {
  const t = cluster.image.topics.byName.get(topic)!;
  const p = t.partitions.get(0)!;
  const r = alterPartition(
    cluster.image,
    createAlterPartitionRequest({
      brokerId: p.leader,
      brokerEpoch: BigInt(cluster.image.cluster.brokers.get(p.leader)!.epoch),
      topics: [createTopicData({
        topicId: t.id,
        partitions: [createPartitionData({
          partitionIndex: 0,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          newIsr,
        })],
      })],
    }),
    { ...cluster.ctx(), apiVersion: 2 },
  );
  cluster.commit(r.records);
  return r.response.topics[0]!.partitions[0]!.errorCode;
}

Deno.test("a move adds the new replicas first and drops the old ones only once they are in sync", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2]]);
  const epoch = p(0).leaderEpoch;
  assert.deepEqual(reassign(cluster, "t", { 0: [2, 3] }), [ErrorCode.NONE]);
  assert.deepEqual(
    [p(0).replicas, p(0).addingReplicas, p(0).removingReplicas, p(0).isr, p(0).leader],
    [[2, 3, 1], [3], [1], [1, 2], 1],
  );
  assert.equal(p(0).leaderEpoch, epoch); // nobody left the replica set yet
  assert.deepEqual(listed(cluster), [
    { partition: "t-0", replicas: [2, 3, 1], adding: [3], removing: [1] },
  ]);
  // Broker 3 caught up: the leader adds it, which completes the move and moves leadership.
  assert.equal(setIsr(cluster, "t", [1, 2, 3]), ErrorCode.NEW_LEADER_ELECTED);
  assert.deepEqual(
    [p(0).replicas, p(0).addingReplicas, p(0).removingReplicas, p(0).isr, p(0).leader],
    [[2, 3], [], [], [2, 3], 2],
  );
  assert.equal(p(0).leaderEpoch, epoch + 1);
  assert.deepEqual(listed(cluster), []);
});

Deno.test("a reorder or a removal of in-sync replicas completes at once", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const reorder = cluster.createTopic("r", [[1, 2]]);
  const shrink = cluster.createTopic("s", [[1, 2, 3]]);
  assert.deepEqual(reassign(cluster, "r", { 0: [2, 1] }), [ErrorCode.NONE]);
  assert.deepEqual([reorder(0).replicas, reorder(0).leader, reorder(0).addingReplicas], [
    [2, 1],
    1,
    [],
  ]);
  const epoch = shrink(0).leaderEpoch;
  assert.deepEqual(reassign(cluster, "s", { 0: [1, 2] }), [ErrorCode.NONE]);
  assert.deepEqual([shrink(0).replicas, shrink(0).isr, shrink(0).removingReplicas], [
    [1, 2],
    [1, 2],
    [],
  ]);
  assert.equal(shrink(0).leaderEpoch, epoch + 1); // broker 3 left the replica set
});

Deno.test("a cancelled move goes back to the original replicas", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3, 4]);
  const p = cluster.createTopic("t", [[1, 2]]);
  reassign(cluster, "t", { 0: [3, 4] });
  assert.deepEqual(p(0).addingReplicas, [3, 4]);
  assert.deepEqual(reassign(cluster, "t", { 0: null }), [ErrorCode.NONE]);
  assert.deepEqual(
    [p(0).replicas, p(0).isr, p(0).addingReplicas, p(0).removingReplicas, p(0).leader],
    [[1, 2], [1, 2], [], [], 1],
  );
  assert.deepEqual(reassign(cluster, "t", { 0: null }), [ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]);
});

Deno.test("cancelling when only new replicas are in sync needs unclean leader election", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = cluster.createTopic("t", [[1]]);
  const t = cluster.image.topics.byName.get("t")!;
  // A move 1 -> 2 where broker 1 fell out of the ISR: only the new replica is in sync.
  cluster.commit([makeRecord(
    RecordType.PARTITION_CHANGE,
    1,
    createPartitionChangeRecord({
      topicId: t.id,
      partitionId: 0,
      replicas: [2, 1],
      isr: [2],
      leader: 2,
      addingReplicas: [2],
      removingReplicas: [1],
    }),
  )]);
  assert.deepEqual(reassign(cluster, "t", { 0: null }), [ErrorCode.INVALID_REPLICA_ASSIGNMENT]);
  assert.deepEqual(p(0).replicas, [2, 1]);
  cluster.commit([makeRecord(
    RecordType.CONFIG,
    0,
    {
      resourceType: 2,
      resourceName: "t",
      name: "unclean.leader.election.enable",
      value: "true",
      _unknownTaggedFields: [],
    },
  )]);
  assert.deepEqual(reassign(cluster, "t", { 0: null }), [ErrorCode.NONE]);
  assert.deepEqual([p(0).replicas, p(0).isr, p(0).leader], [[1], [1], 1]);
});

Deno.test("bad reassignments get Kafka's errors and change nothing", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  cluster.createTopic("t", [[1, 2]]);
  const before = cluster.log.length;
  assert.deepEqual(
    reassign(cluster, "t", { 0: [], 1: [1, 1], 2: [1, 9] }),
    [
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );
  const dup = cluster.createTopic("u", [[1, 2]]);
  assert.deepEqual(reassign(cluster, "u", { 0: [1, 1] }), [ErrorCode.INVALID_REPLICA_ASSIGNMENT]);
  assert.deepEqual(reassign(cluster, "u", { 0: [1, 9] }), [ErrorCode.INVALID_REPLICA_ASSIGNMENT]);
  assert.deepEqual(reassign(cluster, "nope", { 0: [1] }), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.deepEqual(dup(0).replicas, [1, 2]);
  assert.equal(cluster.log.length, before + 2); // only the creation of "u"
});

Deno.test("listing names only the asked partitions that are being reassigned", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  cluster.createTopic("a", [[1], [2]]);
  cluster.createTopic("b", [[1]]);
  reassign(cluster, "a", { 0: [3], 1: [3] });
  reassign(cluster, "b", { 0: [2] });
  assert.deepEqual(listed(cluster).map((l) => l.partition), ["a-0", "a-1", "b-0"]);
  assert.deepEqual(
    listed(cluster, { a: [1, 7], b: [0], nope: [0] }).map((l) => l.partition),
    ["a-1", "b-0"],
  );
});
