import assert from "node:assert/strict";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import {
  createBrokerRegistrationRequest,
  createFeature,
} from "../../net/protocol/generated/broker_registration_request.ts";
import {
  createAlterableConfig,
  createAlterConfigsResource,
  createIncrementalAlterConfigsRequest,
} from "../../net/protocol/generated/incremental_alter_configs_request.ts";
import {
  createFeatureUpdateKey,
  createUpdateFeaturesRequest,
} from "../../net/protocol/generated/update_features_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { brokerRegistration, tick } from "./broker_control.ts";
import { incrementalAlterConfigs, updateFeatures } from "./controller.ts";
import { ConfigResourceType } from "./image.ts";
import { ELR_VERSION_FEATURE, makeRecord, RecordType } from "./records.ts";
import { incarnation, TEST_CLUSTER_ID, TestCluster } from "./testing.ts";

// KIP-966 at the controller: fencing, unfencing, re-registration, config and feature changes.

function clusterWithElr(options: { elr?: boolean } = {}) {
  const cluster = new TestCluster();
  if (options.elr ?? true) {
    cluster.commit([makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: ELR_VERSION_FEATURE, featureLevel: 1 }),
    )]);
  }
  cluster.addBrokers([1, 2, 3]);
  const p = cluster.createTopic("t", [[1, 2, 3]], { "min.insync.replicas": "2" });
  return { cluster, p: () => p(0) };
}

/** The session timeout passes; only `alive` heartbeated meanwhile. */
function expire(cluster: TestCluster, alive: number[]): void {
  cluster.nowMs += cluster.config.brokerSessionTimeoutMs + 1;
  for (const id of alive) cluster.heartbeat(id);
  const result = tick(cluster.image, cluster.ctx());
  cluster.commit(result.records);
  cluster.sessions = result.sessions;
}

function reregister(
  cluster: TestCluster,
  id: number,
  generation: number,
  previousBrokerEpoch: bigint,
): void {
  const response = cluster.run(brokerRegistration(
    cluster.image,
    createBrokerRegistrationRequest({
      brokerId: id,
      clusterId: TEST_CLUSTER_ID,
      incarnationId: incarnation(id, generation),
      features: [createFeature({
        name: "metadata.version",
        minSupportedVersion: 1,
        maxSupportedVersion: 21,
      })],
      previousBrokerEpoch,
    }),
    cluster.ctx(),
  ));
  assert.equal(response.errorCode, ErrorCode.NONE);
}

Deno.test("a replica that leaves an ISR still at min ISR is not eligible: the HW could move on", () => {
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1]); // 2 leaves first (ISR [1,3] is at min ISR), then 3 (ISR [1] is below)
  assert.deepEqual([p().isr, p().eligibleLeaderReplicas], [[1], [3]]);
});

Deno.test("with ELR, losing the last ISR member below min ISR leaves the partition electable from the ELR", () => {
  // KIP-966's motivating case: ISR [1,2,3], min ISR 2. Broker 3 dies: ISR [1,2]. Broker 2 dies:
  // ISR [1] (below min ISR: the HW stops), 2 eligible. Broker 1 dies: ISR empty, both eligible.
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1, 2]);
  assert.deepEqual([p().isr, p().eligibleLeaderReplicas], [[1, 2], []]);
  expire(cluster, [1]);
  assert.deepEqual([p().isr, p().eligibleLeaderReplicas], [[1], [2]]);
  expire(cluster, []);
  assert.deepEqual([p().leader, p().isr, p().eligibleLeaderReplicas], [-1, [], [2, 1]]);
  assert.deepEqual(p().lastKnownElr, [1]);
  // Broker 2 comes back first: it holds every committed record, so it leads cleanly.
  cluster.heartbeat(2);
  assert.deepEqual([p().leader, p().isr, p().eligibleLeaderReplicas], [2, [2], [1]]);
  assert.equal(p().leaderRecoveryState, 0);
  assert.deepEqual(p().lastKnownElr, []);
});

Deno.test("without ELR the same failures keep the last member in the ISR and the others cannot lead", () => {
  const { cluster, p } = clusterWithElr({ elr: false });
  expire(cluster, [1, 2]);
  expire(cluster, [1]);
  expire(cluster, []);
  assert.deepEqual([p().leader, p().isr, p().eligibleLeaderReplicas], [-1, [1], []]);
  cluster.heartbeat(2);
  assert.equal(p().leader, -1); // only broker 1 may lead: Kafka 3.9 waits for it
});

Deno.test("a re-registration without the last clean-shutdown epoch takes the broker out of the ELR", () => {
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1, 2]);
  expire(cluster, [1]);
  assert.deepEqual(p().eligibleLeaderReplicas, [2]);
  const epoch2 = BigInt(cluster.image.cluster.brokers.get(2)!.epoch);
  reregister(cluster, 2, 1, epoch2); // a clean shutdown: it still holds what it acknowledged
  assert.deepEqual(p().eligibleLeaderReplicas, [2]);
  reregister(cluster, 2, 2, -1n); // kill -9: no clean-shutdown marker
  assert.deepEqual(p().eligibleLeaderReplicas, []);
  assert.deepEqual([p().leader, p().isr], [1, [1]]);
});

Deno.test("changing min.insync.replicas clears the ELR of the topic", () => {
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1, 2]);
  expire(cluster, [1]);
  assert.deepEqual(p().eligibleLeaderReplicas, [2]);
  const result = cluster.run(incrementalAlterConfigs(
    cluster.image,
    createIncrementalAlterConfigsRequest({
      resources: [createAlterConfigsResource({
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "t",
        configs: [createAlterableConfig({ name: "min.insync.replicas", value: "1" })],
      })],
    }),
    cluster.ctx(),
  ));
  assert.equal(result.responses[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(p().eligibleLeaderReplicas, []);
  assert.deepEqual(p().isr, [1]);
});

Deno.test("a cluster-wide min.insync.replicas change clears every ELR", () => {
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1, 2]);
  expire(cluster, [1]);
  assert.deepEqual(p().eligibleLeaderReplicas, [2]);
  cluster.run(incrementalAlterConfigs(
    cluster.image,
    createIncrementalAlterConfigsRequest({
      resources: [createAlterConfigsResource({
        resourceType: ConfigResourceType.BROKER,
        resourceName: "",
        configs: [createAlterableConfig({ name: "min.insync.replicas", value: "2" })],
      })],
    }),
    cluster.ctx(),
  ));
  assert.deepEqual(p().eligibleLeaderReplicas, []);
});

Deno.test("disabling eligible.leader.replicas.version clears every ELR; enabling needs broker support", () => {
  const { cluster, p } = clusterWithElr();
  expire(cluster, [1, 2]);
  expire(cluster, [1]);
  assert.deepEqual(p().eligibleLeaderReplicas, [2]);
  const update = (level: number) =>
    cluster.run(updateFeatures(
      cluster.image,
      createUpdateFeaturesRequest({
        featureUpdates: [createFeatureUpdateKey({
          feature: ELR_VERSION_FEATURE,
          maxVersionLevel: level,
          upgradeType: level === 0 ? 2 : 1,
        })],
      }),
      cluster.ctx(),
    ));
  assert.equal(update(0).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(cluster.image.features.get(ELR_VERSION_FEATURE), undefined);
  assert.deepEqual([p().isr, p().eligibleLeaderReplicas], [[1], []]);
  // These test brokers registered without the feature: as in Kafka, every broker must support it.
  const refused = update(1).results[0]!;
  assert.equal(refused.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.match(refused.errorMessage ?? "", /does not support eligible\.leader\.replicas\.version/);
});
