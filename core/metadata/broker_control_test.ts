import assert from "node:assert/strict";
import {
  createAlterPartitionRequest,
  createBrokerState,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
import { createBrokerRegistrationChangeRecord } from "../../net/protocol/generated/broker_registration_change_record.ts";
import { createConfigRecord } from "../../net/protocol/generated/config_record.ts";
import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import { createBrokerHeartbeatRequest } from "../../net/protocol/generated/broker_heartbeat_request.ts";
import {
  createBrokerRegistrationRequest,
  createFeature,
} from "../../net/protocol/generated/broker_registration_request.ts";
import {
  createCreatableReplicaAssignment,
  createCreatableTopic,
  createCreateTopicsRequest,
} from "../../net/protocol/generated/create_topics_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { createUnregisterBrokerRequest } from "../../net/protocol/generated/unregister_broker_request.ts";
import {
  alterPartition,
  brokerHeartbeat,
  brokerRegistration,
  tick,
  unregisterBroker,
} from "./broker_control.ts";
import { createTopics } from "./controller.ts";
import { balancePartitionLeaders } from "./leader_election.ts";
import { ConfigResourceType, type PartitionRegistration } from "./image.ts";
import { makeRecord, RecordType } from "./records.ts";
import { incarnation, TEST_CLUSTER_ID, TestCluster, testConfig } from "./testing.ts";

/** Creates topic `name` with the given replica lists and returns a partition reader. */
function topicWith(cluster: TestCluster, name: string, replicas: number[][]) {
  const r = cluster.run(createTopics(
    cluster.image,
    createCreateTopicsRequest({
      topics: [createCreatableTopic({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: replicas.map((brokerIds, partitionIndex) =>
          createCreatableReplicaAssignment({ partitionIndex, brokerIds })
        ),
      })],
    }),
    cluster.ctx(),
  ));
  assert.equal(r.topics[0]!.errorCode, ErrorCode.NONE);
  return (i: number): PartitionRegistration =>
    cluster.image.topics.byName.get(name)!.partitions.get(i)!;
}

function expire(cluster: TestCluster, alive: number[]): void {
  cluster.nowMs += cluster.config.brokerSessionTimeoutMs + 1;
  for (const id of alive) cluster.heartbeat(id);
  const result = tick(cluster.image, cluster.ctx());
  cluster.commit(result.records);
  cluster.sessions = result.sessions;
}

function registrationRequest(id: number, generation: number) {
  return createBrokerRegistrationRequest({
    brokerId: id,
    clusterId: TEST_CLUSTER_ID,
    incarnationId: incarnation(id, generation),
    features: [
      createFeature({ name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 21 }),
    ],
  });
}

Deno.test("a broker's epoch is the offset of its RegisterBrokerRecord and it starts fenced", () => {
  // KIP-631: the broker epoch is the offset of the registration record.
  const cluster = new TestCluster();
  const offset = cluster.nextOffset;
  const epoch = cluster.register(1);
  assert.equal(epoch, BigInt(offset));
  assert.equal(cluster.log[offset]!.type, RecordType.REGISTER_BROKER);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
});

Deno.test("registration checks the cluster id and the supported metadata.version range", () => {
  const cluster = new TestCluster();
  const wrongCluster = brokerRegistration(
    cluster.image,
    { ...registrationRequest(1, 0), clusterId: "other" },
    cluster.ctx(),
  );
  assert.equal(wrongCluster.response.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
  const tooOld = brokerRegistration(
    cluster.image,
    {
      ...registrationRequest(1, 0),
      features: [
        createFeature({ name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 7 }),
      ],
    },
    cluster.ctx(),
  );
  assert.equal(tooOld.response.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(tooOld.records.length, 0);
});

Deno.test("a new incarnation is refused while the old one's session lives, then accepted", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  const dup = brokerRegistration(cluster.image, registrationRequest(1, 1), cluster.ctx());
  assert.equal(dup.response.errorCode, ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  // The same incarnation may re-register (a retried request) and gets a new epoch.
  const before = cluster.image.cluster.brokers.get(1)!.epoch;
  const same = cluster.run(
    brokerRegistration(cluster.image, registrationRequest(1, 0), cluster.ctx()),
  );
  assert.equal(same.errorCode, ErrorCode.NONE);
  assert.ok(Number(same.brokerEpoch) > before);
  cluster.nowMs += cluster.config.brokerSessionTimeoutMs + 1;
  const later = cluster.run(
    brokerRegistration(cluster.image, registrationRequest(1, 1), cluster.ctx()),
  );
  assert.equal(later.errorCode, ErrorCode.NONE);
  assert.equal(cluster.image.cluster.brokers.get(1)!.incarnationId, incarnation(1, 1));
});

Deno.test("a broker fenced by its controlled shutdown may register a new incarnation at once", () => {
  // Kafka's BrokerHeartbeatManager.hasValidSession: false for a fenced broker.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  cluster.heartbeat(1, { wantShutDown: true }); // leads nothing: shuts down, fenced
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
  const next = cluster.run(
    brokerRegistration(cluster.image, registrationRequest(1, 1), cluster.ctx()),
  );
  assert.equal(next.errorCode, ErrorCode.NONE);
  assert.equal(cluster.image.cluster.brokers.get(1)!.incarnationId, incarnation(1, 1));
});

Deno.test("a heartbeat with a stale broker epoch is STALE_BROKER_EPOCH", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  const r = brokerHeartbeat(
    cluster.image,
    createBrokerHeartbeatRequest({ brokerId: 1, brokerEpoch: 12345n, currentMetadataOffset: 100n }),
    cluster.ctx(),
  );
  assert.equal(r.response.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(r.records.length, 0);
});

Deno.test("a broker is unfenced only once it has caught up to its registration", () => {
  // KIP-631: brokers stay fenced until their metadata reaches their registration offset.
  const cluster = new TestCluster();
  const epoch = Number(cluster.register(1));
  const behind = cluster.heartbeat(1, { offset: epoch - 1 });
  assert.equal(behind.isCaughtUp, false);
  assert.equal(behind.isFenced, true);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
  const wantsFence = cluster.heartbeat(1, { offset: epoch, wantFence: true });
  assert.equal(wantsFence.isFenced, true);
  const caughtUp = cluster.heartbeat(1, { offset: epoch });
  assert.equal(caughtUp.isCaughtUp, true);
  assert.equal(caughtUp.isFenced, false);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, false);
});

Deno.test("missing heartbeats for the session timeout fence a broker and move its leaderships", () => {
  // KIP-631: broker.session.timeout.ms; the fenced broker leaves every ISR it is not alone in.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = topicWith(cluster, "t", [[1, 2], [2, 1]]);
  const solo = topicWith(cluster, "solo", [[1]]);
  const epochBefore = p(0).leaderEpoch;
  cluster.nowMs += 5000;
  const early = tick(cluster.image, cluster.ctx());
  assert.equal(early.records.length, 0);

  expire(cluster, [2, 3]);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
  assert.equal(p(0).leader, 2);
  assert.equal(p(0).leaderEpoch, epochBefore + 1);
  assert.deepEqual(p(0).isr, [2]);
  assert.equal(p(1).leader, 2);
  assert.deepEqual(p(1).isr, [2]);
  // The last ISR member stays in the ISR; the partition is leaderless.
  assert.equal(solo(0).leader, -1);
  assert.deepEqual(solo(0).isr, [1]);
  assert.ok(cluster.log.some((r) => r.type === RecordType.FENCE_BROKER));
});

Deno.test("an unfenced broker leads its leaderless partitions; the rebalance restores preferred ones", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const solo = topicWith(cluster, "solo", [[1]]);
  const p = topicWith(cluster, "t", [[1, 2], [1, 2]]);
  expire(cluster, [2]);
  assert.equal(solo(0).leader, -1);
  assert.equal(p(1).leader, 2);
  const unfenced = cluster.heartbeat(1);
  assert.equal(unfenced.isFenced, false);
  assert.equal(solo(0).leader, 1);
  assert.equal(p(1).leader, 2); // broker 1 left this ISR, so it must rejoin first

  // The leader adds broker 1 back to the ISR (KIP-497), then preferred leaders are elected.
  const b2 = cluster.image.cluster.brokers.get(2)!;
  const t = cluster.image.topics.byName.get("t")!;
  const altered = cluster.run(alterPartition(
    cluster.image,
    createAlterPartitionRequest({
      brokerId: 2,
      brokerEpoch: BigInt(b2.epoch),
      topics: [createTopicData({
        topicId: t.id,
        partitions: [createPartitionData({
          partitionIndex: 1,
          leaderEpoch: p(1).leaderEpoch,
          partitionEpoch: p(1).partitionEpoch,
          newIsr: [2, 1],
        })],
      })],
    }),
    cluster.ctx(),
  ));
  assert.equal(altered.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(p(1).isr, [2, 1]);
  cluster.commit(balancePartitionLeaders(cluster.image, {}).records);
  assert.equal(p(1).leader, 1);
});

Deno.test("AlterPartition from a stale leader epoch or with a fenced replica is refused", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  cluster.register(3);
  const p = topicWith(cluster, "t", [[1, 2, 3]]);
  const t = cluster.image.topics.byName.get("t")!;
  const send = (leaderEpoch: number, newIsr: number[]) =>
    alterPartition(
      cluster.image,
      createAlterPartitionRequest({
        brokerId: 1,
        brokerEpoch: BigInt(cluster.image.cluster.brokers.get(1)!.epoch),
        topics: [createTopicData({
          topicId: t.id,
          partitions: [createPartitionData({
            partitionIndex: 0,
            leaderEpoch,
            partitionEpoch: p(0).partitionEpoch,
            newIsr,
          })],
        })],
      }),
      cluster.ctx(),
    ).response.topics[0]!.partitions[0]!.errorCode;
  assert.equal(send(p(0).leaderEpoch - 1, [1, 2]), ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(send(p(0).leaderEpoch, [1, 2, 3]), ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(send(p(0).leaderEpoch, [1]), ErrorCode.NONE);
});

Deno.test("controlled shutdown moves leaderships away, then waits until active brokers see it", () => {
  // KIP-841: InControlledShutdown; the broker is told to shut down once it leads nothing and
  // every active broker has applied the records that moved its leaderships.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = topicWith(cluster, "t", [[1, 2], [2, 1]]);
  cluster.heartbeat(2);
  const first = cluster.heartbeat(1, { wantShutDown: true });
  assert.equal(first.shouldShutDown, false);
  assert.equal(cluster.image.cluster.brokers.get(1)!.inControlledShutdown, true);
  assert.equal(p(0).leader, 2);
  assert.deepEqual(p(0).isr, [2]);
  const moved = cluster.nextOffset - 1;
  cluster.heartbeat(2, { offset: moved - 1 }); // broker 2 has not applied the move yet
  const waiting = cluster.heartbeat(1, { wantShutDown: true });
  assert.equal(waiting.shouldShutDown, false);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, false);
  cluster.heartbeat(2, { offset: moved });
  const second = cluster.heartbeat(1, { wantShutDown: true });
  assert.equal(second.shouldShutDown, true);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
});

Deno.test("a broker that leads nothing may shut down at once", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  topicWith(cluster, "t", [[2]]);
  const r = cluster.heartbeat(1, { wantShutDown: true });
  assert.equal(r.shouldShutDown, true);
  assert.equal(cluster.image.cluster.brokers.get(1)!.fenced, true);
});

Deno.test("an unregistered broker leaves every ISR and the cluster", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = topicWith(cluster, "t", [[1, 2]]);
  const r = cluster.run(
    unregisterBroker(cluster.image, createUnregisterBrokerRequest({ brokerId: 1 }), cluster.ctx()),
  );
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(cluster.image.cluster.brokers.has(1), false);
  assert.equal(p(0).leader, 2);
  assert.equal(cluster.sessions.has(1), false);
  const again = unregisterBroker(
    cluster.image,
    createUnregisterBrokerRequest({ brokerId: 1 }),
    cluster.ctx(),
  );
  assert.equal(again.response.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
});

Deno.test("an ISR shrink bumps the leader epoch before metadata.version 3.6-IV0", () => {
  // KAFKA-15021: from 3.6-IV0 the controller no longer bumps the epoch on an ISR shrink.
  for (const [mv, bump] of [[11, 1], [21, 0]] as const) {
    const cluster = new TestCluster({ metadataVersion: mv });
    cluster.addBrokers([1, 2]);
    const p = topicWith(cluster, "t", [[1, 2]]);
    const before = p(0).leaderEpoch;
    expire(cluster, [1]);
    assert.deepEqual(p(0).isr, [1]);
    assert.equal(p(0).leaderEpoch, before + bump, `metadata.version ${mv}`);
  }
});

/** Sends AlterPartition for partition 0 of `topic` as broker `from`; returns the partition result. */
function alterIsr(
  cluster: TestCluster,
  topic: string,
  from: number,
  change: {
    newIsr: number[];
    leaderEpoch?: number;
    partitionEpoch?: number;
    brokerEpochs?: Record<number, bigint>;
    leaderRecoveryState?: number;
    apiVersion?: number;
  },
) {
  const t = cluster.image.topics.byName.get(topic)!;
  const p = t.partitions.get(0)!;
  const apiVersion = change.apiVersion ?? 3;
  const byEpoch = apiVersion >= 3;
  const result = alterPartition(
    cluster.image,
    createAlterPartitionRequest({
      brokerId: from,
      brokerEpoch: BigInt(cluster.image.cluster.brokers.get(from)!.epoch),
      topics: [createTopicData({
        topicId: apiVersion > 1 ? t.id : "AAAAAAAAAAAAAAAAAAAAAA",
        topicName: apiVersion > 1 ? "" : topic,
        partitions: [createPartitionData({
          partitionIndex: 0,
          leaderEpoch: change.leaderEpoch ?? p.leaderEpoch,
          partitionEpoch: change.partitionEpoch ?? p.partitionEpoch,
          newIsr: byEpoch ? [] : change.newIsr,
          newIsrWithEpochs: byEpoch
            ? change.newIsr.map((brokerId) =>
              createBrokerState({
                brokerId,
                brokerEpoch: change.brokerEpochs?.[brokerId] ??
                  BigInt(cluster.image.cluster.brokers.get(brokerId)?.epoch ?? -1),
              })
            )
            : [],
          leaderRecoveryState: change.leaderRecoveryState ?? 0,
        })],
      })],
    }),
    { ...cluster.ctx(), apiVersion },
  );
  cluster.commit(result.records);
  return { ...result.response.topics[0]!.partitions[0]!, records: result.records.length };
}

Deno.test("AlterPartition answers Kafka 3.9's error for each invalid request", () => {
  // KIP-497, ReplicationControlManager.validateAlterPartitionData, in its order.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  cluster.register(4); // registered, still fenced
  const p = cluster.createTopic("t", [[1, 2, 3, 4]]);
  const logLength = cluster.log.length;
  const E = ErrorCode;
  const code = (from: number, change: Parameters<typeof alterIsr>[3]) =>
    alterIsr(cluster, "t", from, change).errorCode;
  assert.equal(code(1, { newIsr: [1, 2], leaderEpoch: p(0).leaderEpoch + 1 }), E.NOT_CONTROLLER);
  assert.equal(
    code(1, { newIsr: [1, 2], partitionEpoch: p(0).partitionEpoch + 1 }),
    E.NOT_CONTROLLER,
  );
  assert.equal(
    code(1, { newIsr: [1, 2], leaderEpoch: p(0).leaderEpoch - 1 }),
    E.FENCED_LEADER_EPOCH,
  );
  assert.equal(code(2, { newIsr: [1, 2] }), E.INVALID_REQUEST); // not the leader
  assert.equal(
    code(1, { newIsr: [1, 2], partitionEpoch: p(0).partitionEpoch - 1 }),
    E.INVALID_UPDATE_VERSION,
  );
  assert.equal(code(1, { newIsr: [1, 5] }), E.INVALID_REQUEST); // 5 is not a replica
  assert.equal(code(1, { newIsr: [1, 2, 2] }), E.INVALID_REQUEST);
  assert.equal(code(1, { newIsr: [2, 3] }), E.INVALID_REQUEST); // the leader left out
  assert.equal(code(1, { newIsr: [1, 4] }), E.INELIGIBLE_REPLICA); // fenced
  assert.equal(code(1, { newIsr: [1, 4], apiVersion: 1 }), E.OPERATION_NOT_ATTEMPTED);
  assert.equal(code(1, { newIsr: [1, 2], brokerEpochs: { 2: 1n } }), E.INELIGIBLE_REPLICA);
  // KIP-704: RECOVERED never goes back to RECOVERING.
  assert.equal(code(1, { newIsr: [1], leaderRecoveryState: 1 }), E.INVALID_REQUEST);
  assert.equal(code(1, { newIsr: [1, 2], leaderRecoveryState: 2 }), E.INVALID_REQUEST);
  assert.equal(cluster.log.length, logLength); // nothing rejected was written
  cluster.heartbeat(2, { wantShutDown: true }); // leads nothing: shuts down, fenced
  assert.equal(code(1, { newIsr: [1, 2] }), E.INELIGIBLE_REPLICA);
});

Deno.test("AlterPartition names unknown topics by id from v2 and by name before", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1]);
  cluster.createTopic("t", [[1]]);
  const send = (apiVersion: number) =>
    alterPartition(
      cluster.image,
      createAlterPartitionRequest({
        brokerId: 1,
        brokerEpoch: BigInt(cluster.image.cluster.brokers.get(1)!.epoch),
        topics: [createTopicData({
          topicId: "q1Sh-9_ISia_fV4lGz8fqw",
          topicName: "nope",
          partitions: [createPartitionData({ partitionIndex: 0, newIsr: [1] })],
        })],
      }),
      { ...cluster.ctx(), apiVersion },
    ).response.topics[0]!.partitions[0]!.errorCode;
  assert.equal(send(2), ErrorCode.UNKNOWN_TOPIC_ID);
  assert.equal(send(1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const stale = alterPartition(
    cluster.image,
    createAlterPartitionRequest({ brokerId: 1, brokerEpoch: 999n }),
    cluster.ctx(),
  );
  assert.equal(stale.response.errorCode, ErrorCode.STALE_BROKER_EPOCH);
});

Deno.test("an accepted ISR change bumps the partition epoch, not the leader epoch, and is answered as committed", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2, 3]]);
  const before = p(0);
  const r = alterIsr(cluster, "t", 1, { newIsr: [1, 2] });
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.deepEqual(p(0).isr, [1, 2]);
  assert.equal(p(0).partitionEpoch, before.partitionEpoch + 1);
  assert.equal(p(0).leaderEpoch, before.leaderEpoch);
  assert.deepEqual(
    [r.leaderId, r.leaderEpoch, r.partitionEpoch, r.isr],
    [1, before.leaderEpoch, before.partitionEpoch + 1, [1, 2]],
  );
  // The same ISR again writes nothing and answers the current state.
  const same = alterIsr(cluster, "t", 1, { newIsr: [1, 2] });
  assert.equal(same.records, 0);
  assert.equal(same.partitionEpoch, p(0).partitionEpoch);
});

Deno.test("a recovering leader's AlterPartition may only confirm RECOVERED alone or shrink", () => {
  // KIP-704: after an unclean election the leader reports RECOVERED before the ISR grows.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = cluster.createTopic("t", [[1, 2]], { "unclean.leader.election.enable": "true" });
  alterIsr(cluster, "t", 1, { newIsr: [1] });
  expire(cluster, [2]);
  assert.equal(p(0).leader, 2);
  assert.equal(p(0).leaderRecoveryState, 1);
  assert.equal(
    alterIsr(cluster, "t", 2, { newIsr: [2, 1], leaderRecoveryState: 1 }).errorCode,
    ErrorCode.INVALID_REQUEST,
  );
  assert.equal(
    alterIsr(cluster, "t", 2, { newIsr: [2], leaderRecoveryState: 0 }).errorCode,
    ErrorCode.NONE,
  );
  assert.equal(p(0).leaderRecoveryState, 0);
});

Deno.test("AlterPartition that leaves the leader unable to lead elects another and says NEW_LEADER_ELECTED", () => {
  // The leader's log directory went offline (KIP-858): it is no acceptable leader any more.
  // Kafka answers NEW_LEADER_ELECTED from v2 and FENCED_LEADER_EPOCH before, and writes the change.
  for (
    const [apiVersion, expected] of [[3, ErrorCode.NEW_LEADER_ELECTED], [
      1,
      ErrorCode.FENCED_LEADER_EPOCH,
    ]]
  ) {
    const cluster = new TestCluster();
    cluster.addBrokers([1, 2]);
    const p = cluster.createTopic("t", [[1, 2]]);
    const t = cluster.image.topics.byName.get("t")!;
    cluster.commit([
      makeRecord(
        RecordType.PARTITION_CHANGE,
        1,
        createPartitionChangeRecord({
          topicId: t.id,
          partitionId: 0,
          directories: ["d7B7j6rTRR-6XlJDpvU0Eg", "AAAAAAAAAAAAAAAAAAAAAA"],
        }),
      ),
      makeRecord(
        RecordType.BROKER_REGISTRATION_CHANGE,
        2,
        createBrokerRegistrationChangeRecord({
          brokerId: 1,
          brokerEpoch: BigInt(cluster.image.cluster.brokers.get(1)!.epoch),
          logDirs: ["other0000000000000000A"],
        }),
      ),
    ]);
    const epoch = p(0).leaderEpoch;
    const r = alterIsr(cluster, "t", 1, { newIsr: [1, 2], apiVersion });
    assert.equal(r.errorCode, expected, `v${apiVersion}`);
    assert.equal(p(0).leader, 2);
    assert.equal(p(0).leaderEpoch, epoch + 1);
  }
});

Deno.test("with unclean.leader.election.enable a live out-of-sync replica leads when the ISR dies", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  const unclean = cluster.createTopic("u", [[1, 2, 3]], {
    "unclean.leader.election.enable": "true",
  });
  const clean = cluster.createTopic("c", [[1, 2, 3]]);
  alterIsr(cluster, "u", 1, { newIsr: [1] });
  alterIsr(cluster, "c", 1, { newIsr: [1] });
  const epoch = unclean(0).leaderEpoch;
  expire(cluster, [2, 3]);
  // Off (the default): the partition stays offline with its last ISR member.
  assert.equal(clean(0).leader, -1);
  assert.deepEqual(clean(0).isr, [1]);
  // On: the first live replica leads alone, RECOVERING.
  assert.equal(unclean(0).leader, 2);
  assert.deepEqual(unclean(0).isr, [2]);
  assert.equal(unclean(0).leaderRecoveryState, 1);
  assert.equal(unclean(0).leaderEpoch, epoch + 1);
});

Deno.test("the broker default and the cluster-wide default of unclean.leader.election.enable count", () => {
  const fromStatic = new TestCluster({
    config: testConfig({
      topicConfigDefaults: new Map([["unclean.leader.election.enable", "true"]]),
    }),
  });
  fromStatic.addBrokers([1, 2]);
  const a = fromStatic.createTopic("a", [[1, 2]]);
  alterIsr(fromStatic, "a", 1, { newIsr: [1] });
  expire(fromStatic, [2]);
  assert.equal(a(0).leader, 2);

  const fromDynamic = new TestCluster();
  fromDynamic.addBrokers([1, 2]);
  const b = fromDynamic.createTopic("b", [[1, 2]]);
  const off = fromDynamic.createTopic("off", [[1, 2]], {
    "unclean.leader.election.enable": "false",
  });
  fromDynamic.commit([makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({
      resourceType: ConfigResourceType.BROKER,
      resourceName: "",
      name: "unclean.leader.election.enable",
      value: "true",
    }),
  )]);
  alterIsr(fromDynamic, "b", 1, { newIsr: [1] });
  alterIsr(fromDynamic, "off", 1, { newIsr: [1] });
  expire(fromDynamic, [2]);
  assert.equal(b(0).leader, 2);
  assert.equal(off(0).leader, -1); // the topic's own setting wins
});

Deno.test("a fenced, shut-down or unregistered broker leaves the ISR and bumps both epochs", () => {
  for (const how of ["fence", "shutdown", "unregister"] as const) {
    const cluster = new TestCluster();
    cluster.addBrokers([1, 2, 3]);
    const p = cluster.createTopic("t", [[1, 2, 3]]);
    const before = p(0);
    if (how === "fence") expire(cluster, [2, 3]);
    else if (how === "shutdown") cluster.heartbeat(1, { wantShutDown: true });
    else {
      cluster.run(unregisterBroker(
        cluster.image,
        createUnregisterBrokerRequest({ brokerId: 1 }),
        cluster.ctx(),
      ));
    }
    assert.equal(p(0).leader, 2, how);
    assert.deepEqual(p(0).isr, [2, 3], how);
    assert.equal(p(0).leaderEpoch, before.leaderEpoch + 1, how);
    assert.equal(p(0).partitionEpoch, before.partitionEpoch + 1, how);
  }
});

Deno.test("an unfenced broker never leads a partition whose ISR it is not in, unless unclean is on", () => {
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const clean = cluster.createTopic("c", [[1, 2]]);
  const unclean = cluster.createTopic("u", [[1, 2]], { "unclean.leader.election.enable": "false" });
  alterIsr(cluster, "c", 1, { newIsr: [1] });
  alterIsr(cluster, "u", 1, { newIsr: [1] });
  expire(cluster, []); // both fenced: both partitions offline
  assert.equal(clean(0).leader, -1);
  cluster.commit([makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({
      resourceType: ConfigResourceType.TOPIC,
      resourceName: "u",
      name: "unclean.leader.election.enable",
      value: "true",
    }),
  )]);
  cluster.heartbeat(2); // broker 2 comes back: it is not in either ISR
  assert.equal(clean(0).leader, -1);
  assert.equal(unclean(0).leader, 2);
  assert.deepEqual(unclean(0).isr, [2]);
  cluster.heartbeat(1);
  assert.equal(clean(0).leader, 1);
});
