import assert from "node:assert/strict";
import {
  createAlterPartitionRequest,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
import {
  createElectLeadersRequest,
  createTopicPartitions,
} from "../../net/protocol/generated/elect_leaders_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { alterPartition, tick } from "./broker_control.ts";
import {
  balancePartitionLeaders,
  ElectionType,
  electLeaders,
  electUncleanLeaders,
  hasLeaderlessPartitions,
} from "./leader_election.ts";
import { TestCluster, testConfig } from "./testing.ts";

function shrinkIsr(cluster: TestCluster, topic: string, partitionIndex: number, newIsr: number[]) {
  const t = cluster.image.topics.byName.get(topic)!;
  const p = t.partitions.get(partitionIndex)!;
  const r = cluster.run(alterPartition(
    cluster.image,
    createAlterPartitionRequest({
      brokerId: p.leader,
      brokerEpoch: BigInt(cluster.image.cluster.brokers.get(p.leader)!.epoch),
      topics: [createTopicData({
        topicId: t.id,
        partitions: [createPartitionData({
          partitionIndex,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          newIsr,
        })],
      })],
    }),
    { ...cluster.ctx(), apiVersion: 2 },
  ));
  assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
}

/** Fences every broker not in `alive` by letting its session expire. */
function expire(cluster: TestCluster, alive: number[]): void {
  cluster.nowMs += cluster.config.brokerSessionTimeoutMs + 1;
  for (const id of alive) cluster.heartbeat(id);
  const result = tick(cluster.image, cluster.ctx());
  cluster.commit(result.records);
  cluster.sessions = result.sessions;
}

function elect(
  cluster: TestCluster,
  electionType: number,
  partitions: Record<string, number[]> | null,
) {
  return cluster.run(electLeaders(
    cluster.image,
    createElectLeadersRequest({
      electionType,
      topicPartitions: partitions === null
        ? null
        : Object.entries(partitions).map(([topic, ids]) =>
          createTopicPartitions({ topic, partitions: ids })
        ),
    }),
    cluster.ctx(),
  ));
}

function codes(response: ReturnType<typeof elect>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of response.replicaElectionResults) {
    for (const p of t.partitionResult) out[`${t.topic}-${p.partitionId}`] = p.errorCode;
  }
  return out;
}

/** A cluster where broker 1, preferred leader of t-0, was fenced and came back in sync. */
function movedLeader(): { cluster: TestCluster; leader: () => number } {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2, 3], [2, 3, 1]]);
  expire(cluster, [2, 3]);
  cluster.heartbeat(1);
  shrinkIsr(cluster, "t", 0, [2, 3, 1]); // the leader lets broker 1 back in
  assert.equal(p(0).leader, 2);
  return { cluster, leader: () => p(0).leader };
}

Deno.test("a preferred election moves leadership back to the in-sync first replica", () => {
  // KIP-183: ElectLeaders with electionType PREFERRED.
  const { cluster, leader } = movedLeader();
  const r = elect(cluster, ElectionType.PREFERRED, { t: [0, 1] });
  assert.deepEqual(codes(r), { "t-0": ErrorCode.NONE, "t-1": ErrorCode.ELECTION_NOT_NEEDED });
  assert.equal(leader(), 1);
  assert.equal(r.errorCode, ErrorCode.NONE);
});

Deno.test("ElectLeaders names unknown topics and partitions UNKNOWN_TOPIC_OR_PARTITION", () => {
  const { cluster } = movedLeader();
  const r = elect(cluster, ElectionType.PREFERRED, { t: [7], nope: [0] });
  assert.deepEqual(codes(r), {
    "t-7": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    "nope-0": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  });
});

Deno.test("a preferred replica that is out of sync or down is PREFERRED_LEADER_NOT_AVAILABLE", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  cluster.createTopic("t", [[1, 2]]);
  expire(cluster, [2]); // broker 1 fenced: leaves the ISR
  const r = elect(cluster, ElectionType.PREFERRED, { t: [0] });
  assert.deepEqual(codes(r), { "t-0": ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE });
  cluster.heartbeat(1); // back, but not in the ISR yet
  const again = elect(cluster, ElectionType.PREFERRED, { t: [0] });
  assert.deepEqual(codes(again), { "t-0": ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE });
});

Deno.test("ElectLeaders for every partition leaves out those that need no election", () => {
  const { cluster, leader } = movedLeader();
  cluster.createTopic("other", [[3, 1]]);
  const r = elect(cluster, ElectionType.PREFERRED, null);
  assert.deepEqual(codes(r), { "t-0": ErrorCode.NONE });
  assert.deepEqual(r.replicaElectionResults.map((t) => t.topic).sort(), ["other", "t"]);
  assert.equal(leader(), 1);
});

Deno.test("an unclean election makes a live out-of-sync replica lead an offline partition", () => {
  // KIP-460: ElectLeaders UNCLEAN, whatever the topic's unclean.leader.election.enable says.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2, 3], [2, 3, 1]]);
  shrinkIsr(cluster, "t", 0, [1]);
  expire(cluster, [2, 3]);
  assert.equal(p(0).leader, -1);
  assert.equal(hasLeaderlessPartitions(cluster.image), true);
  const r = elect(cluster, ElectionType.UNCLEAN, { t: [0, 1] });
  assert.deepEqual(codes(r), { "t-0": ErrorCode.NONE, "t-1": ErrorCode.ELECTION_NOT_NEEDED });
  assert.equal(p(0).leader, 2);
  assert.deepEqual(p(0).isr, [2]);
  assert.equal(p(0).leaderRecoveryState, 1);
});

Deno.test("an unclean election with no live replica is ELIGIBLE_LEADERS_NOT_AVAILABLE", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2]]);
  expire(cluster, [3]);
  assert.equal(p(0).leader, -1);
  const r = elect(cluster, ElectionType.UNCLEAN, { t: [0] });
  assert.deepEqual(codes(r), { "t-0": ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE });
});

Deno.test("an unknown election type is INVALID_REQUEST for the request and every partition", () => {
  const { cluster } = movedLeader();
  const r = elect(cluster, 7, { t: [0] });
  assert.equal(r.errorCode, ErrorCode.INVALID_REQUEST);
  assert.deepEqual(codes(r), { "t-0": ErrorCode.INVALID_REQUEST });
});

Deno.test("the auto rebalance elects preferred leaders only above the per-broker imbalance", () => {
  // leader.imbalance.per.broker.percentage: broker 1 prefers 10 partitions.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = cluster.createTopic("t", Array.from({ length: 10 }, () => [1, 2]));
  expire(cluster, [2]);
  cluster.heartbeat(1);
  shrinkIsr(cluster, "t", 0, [2, 1]); // only partition 0 gets broker 1 back in sync
  // 10 of 10 imbalanced (100%): above 10%, partition 0 moves back; the rest cannot.
  const first = balancePartitionLeaders(cluster.image, {});
  cluster.commit(first.records);
  assert.equal(first.records.length, 1);
  assert.equal(p(0).leader, 1);
  for (let i = 1; i < 10; i++) shrinkIsr(cluster, "t", i, [2, 1]);
  // 9 of 10 (90%) imbalanced, but a 95% threshold tolerates it.
  assert.equal(
    balancePartitionLeaders(cluster.image, { leaderImbalancePerBrokerPercentage: 95 }).records
      .length,
    0,
  );
  const bounded = balancePartitionLeaders(cluster.image, {}, 4);
  assert.deepEqual([bounded.records.length, bounded.more], [4, true]);
  cluster.commit(bounded.records);
  const rest = balancePartitionLeaders(cluster.image, {});
  assert.deepEqual([rest.records.length, rest.more], [5, false]);
});

Deno.test("the periodic unclean election touches only topics that allow it", () => {
  const cluster = new TestCluster({
    config: testConfig({
      topicConfigDefaults: new Map([["unclean.leader.election.enable", "false"]]),
    }),
  });
  cluster.addBrokers([1, 2]);
  const clean = cluster.createTopic("c", [[1, 2]]);
  const unclean = cluster.createTopic("u", [[1, 2]]);
  shrinkIsr(cluster, "c", 0, [1]);
  shrinkIsr(cluster, "u", 0, [1]);
  expire(cluster, [2]);
  assert.equal(electUncleanLeaders(cluster.image, cluster.config).records.length, 0);
  cluster.config = testConfig({
    topicConfigDefaults: new Map([["unclean.leader.election.enable", "true"]]),
  });
  cluster.commit(electUncleanLeaders(cluster.image, cluster.config).records);
  assert.equal(clean(0).leader, 2);
  assert.equal(unclean(0).leader, 2);
});

Deno.test("a partition named twice in one ElectLeaders is elected once", () => {
  const { cluster, leader } = movedLeader();
  const r = electLeaders(
    cluster.image,
    createElectLeadersRequest({
      electionType: ElectionType.PREFERRED,
      topicPartitions: [createTopicPartitions({ topic: "t", partitions: [0, 0] })],
    }),
    cluster.ctx(),
  );
  assert.equal(r.records.length, 1);
  assert.deepEqual(r.response.replicaElectionResults[0]!.partitionResult.map((p) => p.errorCode), [
    ErrorCode.NONE,
    ErrorCode.NONE,
  ]);
  cluster.commit(r.records);
  assert.equal(leader(), 1);
});
