import assert from "node:assert/strict";
import {
  createAlterPartitionRequest,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
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
  electPreferredLeaders,
  tick,
  unregisterBroker,
} from "./broker_control.ts";
import { createTopics } from "./controller.ts";
import type { PartitionRegistration } from "./image.ts";
import { RecordType } from "./records.ts";
import { incarnation, TEST_CLUSTER_ID, TestCluster } from "./testing.ts";

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

Deno.test("an unfenced broker leads its leaderless partitions again, preferred ones too", () => {
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
  cluster.commit(electPreferredLeaders(cluster.image));
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

Deno.test("controlled shutdown moves leaderships away before the broker may stop", () => {
  // KIP-841: InControlledShutdown; the broker is told to shut down once it leads nothing.
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2]);
  const p = topicWith(cluster, "t", [[1, 2], [2, 1]]);
  const first = cluster.heartbeat(1, { wantShutDown: true });
  assert.equal(first.shouldShutDown, false);
  assert.equal(cluster.image.cluster.brokers.get(1)!.inControlledShutdown, true);
  assert.equal(p(0).leader, 2);
  assert.deepEqual(p(0).isr, [2]);
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
