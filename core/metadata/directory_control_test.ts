import assert from "node:assert/strict";
import { createBrokerHeartbeatRequest } from "../../net/protocol/generated/broker_heartbeat_request.ts";
import {
  createBrokerRegistrationRequest,
  createFeature,
  createListener,
} from "../../net/protocol/generated/broker_registration_request.ts";
import {
  type AssignReplicasToDirsRequest,
  createAssignReplicasToDirsRequest,
  createDirectoryData,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/assign_replicas_to_dirs_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { brokerHeartbeat, brokerRegistration } from "./broker_control.ts";
import { assignReplicasToDirs } from "./directory_control.ts";
import { DIRECTORY_UNASSIGNED } from "./image.ts";
import { replicaDirectoryOnline } from "./partition_change.ts";
import { METADATA_VERSION_FEATURE, MetadataVersion, RecordType } from "./records.ts";
import { incarnation, TEST_CLUSTER_ID, TestCluster } from "./testing.ts";

const DIR_A = "ZGlyLWEtMDAwMDAwMDAwMA";
const DIR_B = "ZGlyLWItMDAwMDAwMDAwMA";
const DIR_2 = "ZGlyLTItMDAwMDAwMDAwMA";
const DIR_3 = "ZGlyLTMtMDAwMDAwMDAwMA";

/** Registers broker `id` with `logDirs` (directory ids) and unfences it. */
function addBroker(cluster: TestCluster, id: number, logDirs: string[]): void {
  const response = cluster.run(brokerRegistration(
    cluster.image,
    createBrokerRegistrationRequest({
      brokerId: id,
      clusterId: TEST_CLUSTER_ID,
      incarnationId: incarnation(id, 0),
      listeners: [createListener({ name: "PLAINTEXT", host: "localhost", port: 9092 + id })],
      features: [createFeature({
        name: METADATA_VERSION_FEATURE,
        minSupportedVersion: 1,
        maxSupportedVersion: MetadataVersion.IBP_3_9_IV0,
      })],
      logDirs,
    }),
    cluster.ctx(),
  ));
  assert.equal(response.errorCode, ErrorCode.NONE);
  cluster.heartbeat(id);
}

/** Brokers 1 (directories A and B), 2 and 3, and topic `t` with the given replica lists. */
function cluster3(replicas: number[][], metadataVersion?: number) {
  const cluster = new TestCluster({ metadataVersion });
  addBroker(cluster, 1, [DIR_A, DIR_B]);
  addBroker(cluster, 2, [DIR_2]);
  addBroker(cluster, 3, [DIR_3]);
  const partition = cluster.createTopic("t", replicas);
  const topicId = cluster.image.topics.byName.get("t")!.id;
  return { cluster, partition, topicId };
}

/** AssignReplicasToDirs from broker `brokerId` at its epoch: `dir` -> partitions of `topicId`. */
function assignment(
  cluster: TestCluster,
  brokerId: number,
  placed: { dir: string; topicId: string; partitions: number[] }[],
): AssignReplicasToDirsRequest {
  return createAssignReplicasToDirsRequest({
    brokerId,
    brokerEpoch: BigInt(cluster.image.cluster.brokers.get(brokerId)!.epoch),
    directories: placed.map((p) =>
      createDirectoryData({
        id: p.dir,
        topics: [createTopicData({
          topicId: p.topicId,
          partitions: p.partitions.map((partitionIndex) => createPartitionData({ partitionIndex })),
        })],
      })
    ),
  });
}

function heartbeatWithOffline(cluster: TestCluster, id: number, offlineLogDirs: string[]) {
  const b = cluster.image.cluster.brokers.get(id)!;
  const before = cluster.log.length;
  const response = cluster.run(brokerHeartbeat(
    cluster.image,
    createBrokerHeartbeatRequest({
      brokerId: id,
      brokerEpoch: BigInt(b.epoch),
      currentMetadataOffset: BigInt(cluster.nextOffset - 1),
      offlineLogDirs,
    }),
    cluster.ctx(),
  ));
  return { response, records: cluster.log.slice(before) };
}

Deno.test("AssignReplicasToDirs records the directory of the broker's replica and nothing else", () => {
  const { cluster, partition, topicId } = cluster3([[1, 2, 3], [2, 1, 3]]);
  // A new partition's directories are unassigned until each broker places its replica.
  assert.deepEqual(partition(0).directories, [1, 2, 3].map(() => DIRECTORY_UNASSIGNED));
  const before = { ...partition(0) };
  const result = assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [
      { dir: DIR_A, topicId, partitions: [0] },
      { dir: DIR_B, topicId, partitions: [1] },
    ]),
    cluster.ctx(),
  );
  assert.equal(result.response.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    result.response.directories.map((d) => d.topics[0]!.partitions[0]!.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  );
  assert.equal(result.records.length, 2);
  assert.ok(result.records.every((r) => r.type === RecordType.PARTITION_CHANGE && r.version >= 1));
  cluster.run(result);
  assert.equal(partition(0).directories[0], DIR_A);
  assert.equal(partition(1).directories[1], DIR_B);
  // Only the directory changed: same leader, leader epoch and ISR.
  assert.equal(partition(0).leader, before.leader);
  assert.equal(partition(0).leaderEpoch, before.leaderEpoch);
  assert.deepEqual(partition(0).isr, before.isr);
  // Asking again changes nothing.
  const again = assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [0] }]),
    cluster.ctx(),
  );
  assert.deepEqual(again.records, []);
});

Deno.test("AssignReplicasToDirs refuses unknown topics, partitions, non-replicas and stale epochs", () => {
  const { cluster, topicId } = cluster3([[2, 3]]);
  const unknownTopic = "dW5rbm93bi10b3BpYy0wMA";
  const result = assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [
      { dir: DIR_A, topicId: unknownTopic, partitions: [0] },
      { dir: DIR_A, topicId, partitions: [0, 7] },
    ]),
    cluster.ctx(),
  );
  assert.deepEqual(result.records, []);
  assert.deepEqual(
    result.response.directories.flatMap((d) =>
      d.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))
    ),
    [
      ErrorCode.UNKNOWN_TOPIC_ID,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );
  const stale = assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [0] }]);
  stale.brokerEpoch -= 1n;
  assert.equal(
    assignReplicasToDirs(cluster.image, stale, cluster.ctx()).response.errorCode,
    ErrorCode.STALE_BROKER_EPOCH,
  );
  const unregistered = assignment(cluster, 1, []);
  unregistered.brokerId = 9;
  assert.equal(
    assignReplicasToDirs(cluster.image, unregistered, cluster.ctx()).response.errorCode,
    ErrorCode.BROKER_ID_NOT_REGISTERED,
  );
});

Deno.test("AssignReplicasToDirs needs metadata.version 3.7-IV2 (KIP-858)", () => {
  const { cluster, topicId } = cluster3([[1, 2, 3]], MetadataVersion.IBP_3_6_IV1);
  const result = assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [0] }]),
    cluster.ctx(),
  );
  assert.equal(result.response.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.deepEqual(result.records, []);
});

Deno.test("a directory reported offline moves the leadership of its replicas to other ISR members", () => {
  // Broker 1 leads partition 0 (directory A) and 2 (directory A), follows partition 1 (directory B).
  const { cluster, partition, topicId } = cluster3([[1, 2, 3], [2, 1, 3], [1, 3, 2]]);
  cluster.run(assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [
      { dir: DIR_A, topicId, partitions: [0, 2] },
      { dir: DIR_B, topicId, partitions: [1] },
    ]),
    cluster.ctx(),
  ));
  const epochs = [0, 1, 2].map((i) => partition(i).leaderEpoch);
  const { response, records } = heartbeatWithOffline(cluster, 1, [DIR_A]);
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.equal(response.isFenced, false, "a broker with a failed directory stays unfenced");
  assert.deepEqual(records.map((r) => r.type), [
    RecordType.PARTITION_CHANGE,
    RecordType.PARTITION_CHANGE,
    RecordType.BROKER_REGISTRATION_CHANGE,
  ]);
  assert.equal(partition(0).leader, 2);
  assert.deepEqual(partition(0).isr, [2, 3]);
  assert.equal(partition(0).leaderEpoch, epochs[0]! + 1);
  assert.equal(partition(2).leader, 3);
  assert.deepEqual(partition(2).isr, [3, 2]);
  // The replica in the healthy directory keeps its place.
  assert.equal(partition(1).leader, 2);
  assert.deepEqual(partition(1).isr, [2, 1, 3]);
  assert.equal(partition(1).leaderEpoch, epochs[1]);
  const broker1 = cluster.image.cluster.brokers.get(1)!;
  assert.deepEqual(broker1.logDirs, [DIR_B]);
  assert.equal(broker1.fenced, false);
  // Broker 1 may not lead from the lost directory again, but still from the healthy one.
  assert.equal(replicaDirectoryOnline(cluster.image, partition(0), 1), false);
  assert.equal(replicaDirectoryOnline(cluster.image, partition(1), 1), true);
  // The broker repeats its offline directories in every heartbeat: nothing more is written.
  assert.deepEqual(heartbeatWithOffline(cluster, 1, [DIR_A]).records, []);
});

Deno.test("a partition whose only in-sync replica was in the failed directory goes offline", () => {
  const { cluster, partition, topicId } = cluster3([[1]]);
  cluster.run(assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [0] }]),
    cluster.ctx(),
  ));
  heartbeatWithOffline(cluster, 1, [DIR_A]);
  assert.equal(partition(0).leader, -1);
  // The ISR never becomes empty: the last member stays, to come back when the data does.
  assert.deepEqual(partition(0).isr, [1]);
});

Deno.test("a replica assigned to a directory already offline leaves the ISR at once", () => {
  const { cluster, partition, topicId } = cluster3([[1, 2, 3], [1, 2, 3]]);
  cluster.run(assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [0] }]),
    cluster.ctx(),
  ));
  heartbeatWithOffline(cluster, 1, [DIR_A]);
  assert.equal(partition(1).leader, 1, "partition 1 was unassigned: untouched so far");
  // The broker's assignment of partition 1 to the failed directory arrives late.
  const result = assignReplicasToDirs(
    cluster.image,
    assignment(cluster, 1, [{ dir: DIR_A, topicId, partitions: [1] }]),
    cluster.ctx(),
  );
  assert.equal(result.response.directories[0]!.topics[0]!.partitions[0]!.errorCode, 0);
  cluster.run(result);
  assert.equal(partition(1).directories[0], DIR_A);
  assert.equal(partition(1).leader, 2);
  assert.deepEqual(partition(1).isr, [2, 3]);
});

Deno.test("offline directories a broker never registered change nothing", () => {
  const { cluster } = cluster3([[1, 2, 3]]);
  const { records } = heartbeatWithOffline(cluster, 2, [DIR_A]);
  assert.deepEqual(records, []);
  assert.deepEqual(cluster.image.cluster.brokers.get(2)!.logDirs, [DIR_2]);
});
