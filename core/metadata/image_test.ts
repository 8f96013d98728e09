import assert from "node:assert/strict";
import { createAbortTransactionRecord } from "../../net/protocol/generated/abort_transaction_record.ts";
import { createAccessControlEntryRecord } from "../../net/protocol/generated/access_control_entry_record.ts";
import { createBeginTransactionRecord } from "../../net/protocol/generated/begin_transaction_record.ts";
import { createBrokerRegistrationChangeRecord } from "../../net/protocol/generated/broker_registration_change_record.ts";
import {
  createClientQuotaRecord,
  createEntityData,
} from "../../net/protocol/generated/client_quota_record.ts";
import { createConfigRecord } from "../../net/protocol/generated/config_record.ts";
import { createDelegationTokenRecord } from "../../net/protocol/generated/delegation_token_record.ts";
import { createEndTransactionRecord } from "../../net/protocol/generated/end_transaction_record.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { createFenceBrokerRecord } from "../../net/protocol/generated/fence_broker_record.ts";
import { createNoOpRecord } from "../../net/protocol/generated/no_op_record.ts";
import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import { createProducerIdsRecord } from "../../net/protocol/generated/producer_ids_record.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../../net/protocol/generated/register_broker_record.ts";
import { createRegisterControllerRecord } from "../../net/protocol/generated/register_controller_record.ts";
import { createRemoveAccessControlEntryRecord } from "../../net/protocol/generated/remove_access_control_entry_record.ts";
import { createRemoveDelegationTokenRecord } from "../../net/protocol/generated/remove_delegation_token_record.ts";
import { createRemoveTopicRecord } from "../../net/protocol/generated/remove_topic_record.ts";
import { createRemoveUserScramCredentialRecord } from "../../net/protocol/generated/remove_user_scram_credential_record.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
import { createUnfenceBrokerRecord } from "../../net/protocol/generated/unfence_broker_record.ts";
import { createUnregisterBrokerRecord } from "../../net/protocol/generated/unregister_broker_record.ts";
import { createUserScramCredentialRecord } from "../../net/protocol/generated/user_scram_credential_record.ts";
import { createZkMigrationStateRecord } from "../../net/protocol/generated/zk_migration_state_record.ts";
import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";
import {
  readMetadataRecord,
  writeMetadataRecord,
} from "../../net/protocol/generated/metadata_records.ts";
import { SeededRandom } from "../random.ts";
import {
  applyRecord,
  applyRecords,
  ConfigResourceType,
  DIRECTORY_MIGRATING,
  EMPTY_IMAGE,
  imageToRecords,
  MetadataApplyError,
  type MetadataImage,
  metadataVersion,
  resourceConfigs,
} from "./image.ts";
import { makeRecord, type MetadataRecord, RecordType } from "./records.ts";
import { incarnation } from "./testing.ts";

const TOPIC_A = "q1Sh-9_ISia_fV4lGz8fqw";
const TOPIC_B = "AbCdEfGhIjKlMnOpQrStUQ";
const ACL_ID = "ZZZZZZZZZZZZZZZZZZZZZQ";

function register(id: number, epoch: number, rack: string | null = null): MetadataRecord {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    1,
    createRegisterBrokerRecord({
      brokerId: id,
      brokerEpoch: BigInt(epoch),
      incarnationId: incarnation(id, 0),
      endPoints: [createBrokerEndpoint({ name: "PLAINTEXT", host: "h", port: 9092 })],
      rack,
    }),
  );
}

function partition(topicId: string, partitionId: number, replicas: number[]): MetadataRecord {
  return makeRecord(
    RecordType.PARTITION,
    0,
    createPartitionRecord({
      topicId,
      partitionId,
      replicas,
      isr: replicas,
      leader: replicas[0]!,
      leaderEpoch: 0,
      partitionEpoch: 0,
    }),
  );
}

function change(init: Parameters<typeof createPartitionChangeRecord>[0]): MetadataRecord {
  return makeRecord(RecordType.PARTITION_CHANGE, 0, createPartitionChangeRecord(init));
}

Deno.test("every __cluster_metadata record type applies to the image", () => {
  // KIP-631: the record types of __cluster_metadata, one by one.
  let img = EMPTY_IMAGE;
  const step = (r: MetadataRecord) => (img = applyRecord(img, r));

  step(makeRecord(
    RecordType.FEATURE_LEVEL,
    0,
    createFeatureLevelRecord({ name: "metadata.version", featureLevel: 21 }),
  ));
  assert.equal(metadataVersion(img), 21);

  step(register(1, 10, "r1"));
  assert.equal(img.cluster.brokers.get(1)?.fenced, true);
  assert.equal(img.cluster.brokers.get(1)?.rack, "r1");
  step(makeRecord(RecordType.UNFENCE_BROKER, 0, createUnfenceBrokerRecord({ id: 1, epoch: 10n })));
  assert.equal(img.cluster.brokers.get(1)?.fenced, false);
  step(makeRecord(RecordType.FENCE_BROKER, 0, createFenceBrokerRecord({ id: 1, epoch: 10n })));
  assert.equal(img.cluster.brokers.get(1)?.fenced, true);
  step(makeRecord(
    RecordType.BROKER_REGISTRATION_CHANGE,
    1,
    createBrokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 10n, fenced: -1 }),
  ));
  assert.equal(img.cluster.brokers.get(1)?.fenced, false);
  step(makeRecord(
    RecordType.BROKER_REGISTRATION_CHANGE,
    1,
    createBrokerRegistrationChangeRecord({
      brokerId: 1,
      brokerEpoch: 10n,
      inControlledShutdown: 1,
    }),
  ));
  assert.equal(img.cluster.brokers.get(1)?.inControlledShutdown, true);
  step(register(2, 11));
  step(makeRecord(
    RecordType.UNREGISTER_BROKER,
    0,
    createUnregisterBrokerRecord({ brokerId: 2, brokerEpoch: 11n }),
  ));
  assert.equal(img.cluster.brokers.has(2), false);

  step(makeRecord(
    RecordType.REGISTER_CONTROLLER,
    0,
    createRegisterControllerRecord({ controllerId: 3000, incarnationId: incarnation(30, 0) }),
  ));
  assert.equal(img.cluster.controllers.get(3000)?.id, 3000);

  step(makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: TOPIC_A })));
  step(partition(TOPIC_A, 0, [1]));
  assert.equal(img.topics.byName.get("a")?.partitions.get(0)?.leader, 1);
  assert.deepEqual(img.topics.byId.get(TOPIC_A)?.partitions.get(0)?.directories, [
    DIRECTORY_MIGRATING,
  ]);
  step(change({ topicId: TOPIC_A, partitionId: 0, isr: [1] }));
  assert.equal(img.topics.byId.get(TOPIC_A)?.partitions.get(0)?.partitionEpoch, 1);

  step(makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({
      resourceType: ConfigResourceType.TOPIC,
      resourceName: "a",
      name: "retention.ms",
      value: "1000",
    }),
  ));
  assert.equal(resourceConfigs(img, ConfigResourceType.TOPIC, "a").get("retention.ms"), "1000");

  step(makeRecord(
    RecordType.PRODUCER_IDS,
    0,
    createProducerIdsRecord({ brokerId: 1, brokerEpoch: 10n, nextProducerId: 1000n }),
  ));
  assert.equal(img.nextProducerId, 1000n);

  const quota = createClientQuotaRecord({
    entity: [createEntityData({ entityType: "client-id", entityName: "app" })],
    key: "producer_byte_rate",
    value: 1024,
  });
  step(makeRecord(RecordType.CLIENT_QUOTA, 0, quota));
  assert.equal(img.clientQuotas.size, 1);
  step(makeRecord(RecordType.CLIENT_QUOTA, 0, { ...quota, remove: true }));
  assert.equal(img.clientQuotas.size, 0);

  step(makeRecord(
    RecordType.ACCESS_CONTROL_ENTRY,
    0,
    createAccessControlEntryRecord({ id: ACL_ID, resourceName: "a", principal: "User:x" }),
  ));
  assert.equal(img.acls.size, 1);
  step(makeRecord(
    RecordType.REMOVE_ACCESS_CONTROL_ENTRY,
    0,
    createRemoveAccessControlEntryRecord({ id: ACL_ID }),
  ));
  assert.equal(img.acls.size, 0);

  step(makeRecord(
    RecordType.USER_SCRAM_CREDENTIAL,
    0,
    createUserScramCredentialRecord({ name: "alice", mechanism: 1, iterations: 4096 }),
  ));
  assert.equal(img.scramCredentials.size, 1);
  step(makeRecord(
    RecordType.REMOVE_USER_SCRAM_CREDENTIAL,
    0,
    createRemoveUserScramCredentialRecord({ name: "alice", mechanism: 1 }),
  ));
  assert.equal(img.scramCredentials.size, 0);

  step(makeRecord(
    RecordType.DELEGATION_TOKEN,
    0,
    createDelegationTokenRecord({ tokenId: "t1", owner: "User:x" }),
  ));
  assert.equal(img.delegationTokens.size, 1);
  step(makeRecord(
    RecordType.REMOVE_DELEGATION_TOKEN,
    0,
    createRemoveDelegationTokenRecord({ tokenId: "t1" }),
  ));
  assert.equal(img.delegationTokens.size, 0);

  step(makeRecord(
    RecordType.ZK_MIGRATION_STATE,
    0,
    createZkMigrationStateRecord({ zkMigrationState: 3 }),
  ));
  assert.equal(img.zkMigrationState, 3);

  const before = img;
  step(makeRecord(RecordType.NO_OP, 0, createNoOpRecord()));
  assert.deepEqual(img, before);

  // KIP-868: metadata transactions become visible at EndTransactionRecord.
  step(makeRecord(RecordType.BEGIN_TRANSACTION, 0, createBeginTransactionRecord({ name: "tx" })));
  step(makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "b", topicId: TOPIC_B })));
  assert.equal(img.topics.byName.has("b"), false);
  step(makeRecord(RecordType.END_TRANSACTION, 0, createEndTransactionRecord()));
  assert.equal(img.topics.byName.has("b"), true);

  step(makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: TOPIC_A })));
  assert.equal(img.topics.byName.has("a"), false);
  assert.equal(resourceConfigs(img, ConfigResourceType.TOPIC, "a").size, 0);
});

Deno.test("an aborted metadata transaction leaves no trace", () => {
  // KIP-868: AbortTransactionRecord drops the records since BeginTransactionRecord.
  const img = applyRecords(EMPTY_IMAGE, [
    makeRecord(RecordType.BEGIN_TRANSACTION, 0, createBeginTransactionRecord()),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "b", topicId: TOPIC_B })),
    makeRecord(RecordType.ABORT_TRANSACTION, 0, createAbortTransactionRecord({ reason: "x" })),
  ]);
  assert.deepEqual(img, EMPTY_IMAGE);
});

Deno.test("an unknown record type is an error", () => {
  const bogus = { type: 6, version: 0, data: {} } as unknown as MetadataRecord;
  assert.throws(() => applyRecord(EMPTY_IMAGE, bogus), MetadataApplyError);
});

Deno.test("records that contradict the image are errors", () => {
  assert.throws(() => applyRecord(EMPTY_IMAGE, partition(TOPIC_A, 0, [1])), MetadataApplyError);
  const img = applyRecord(EMPTY_IMAGE, register(1, 5));
  assert.throws(
    () =>
      applyRecord(
        img,
        makeRecord(RecordType.FENCE_BROKER, 0, createFenceBrokerRecord({ id: 1, epoch: 4n })),
      ),
    MetadataApplyError,
  );
  assert.throws(
    () =>
      applyRecord(
        EMPTY_IMAGE,
        makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: TOPIC_A })),
      ),
    MetadataApplyError,
  );
});

Deno.test("a PartitionChangeRecord's defaults mean no change, and -1 means no leader", () => {
  // PartitionChangeRecord.json: Leader -2 = unchanged, -1 = none; null lists = unchanged.
  const base = applyRecords(EMPTY_IMAGE, [
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: TOPIC_A })),
    partition(TOPIC_A, 0, [1, 2, 3]),
  ]);
  const p0 = base.topics.byId.get(TOPIC_A)!.partitions.get(0)!;
  const untouched = applyRecord(base, change({ topicId: TOPIC_A, partitionId: 0 }));
  const p1 = untouched.topics.byId.get(TOPIC_A)!.partitions.get(0)!;
  assert.equal(p1.leader, 1);
  assert.equal(p1.leaderEpoch, p0.leaderEpoch);
  assert.equal(p1.partitionEpoch, p0.partitionEpoch + 1);
  assert.deepEqual(p1.isr, [1, 2, 3]);

  const leaderless = applyRecord(base, change({ topicId: TOPIC_A, partitionId: 0, leader: -1 }));
  const p2 = leaderless.topics.byId.get(TOPIC_A)!.partitions.get(0)!;
  assert.equal(p2.leader, -1);
  assert.equal(p2.leaderEpoch, p0.leaderEpoch + 1);

  // Naming the same leader still bumps the leader epoch (how the controller forces a bump).
  const same = applyRecord(base, change({ topicId: TOPIC_A, partitionId: 0, leader: 1 }));
  assert.equal(same.topics.byId.get(TOPIC_A)!.partitions.get(0)!.leaderEpoch, p0.leaderEpoch + 1);

  const moved = applyRecord(
    base,
    change({ topicId: TOPIC_A, partitionId: 0, replicas: [3, 4], isr: [3] }),
  );
  const p3 = moved.topics.byId.get(TOPIC_A)!.partitions.get(0)!;
  assert.deepEqual(p3.replicas, [3, 4]);
  assert.equal(p3.directories.length, 2);
});

Deno.test("a ConfigRecord with a null value deletes the override", () => {
  const set = (value: string | null) =>
    makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: ConfigResourceType.BROKER,
        resourceName: "",
        name: "log.retention.ms",
        value,
      }),
    );
  const img = applyRecords(EMPTY_IMAGE, [set("5"), set(null)]);
  assert.equal(img.configs.size, 0);
});

Deno.test("applying records never changes the image it started from", () => {
  const base = applyRecords(EMPTY_IMAGE, [
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: TOPIC_A })),
    partition(TOPIC_A, 0, [1]),
  ]);
  const snapshot = structuredClone(base);
  applyRecords(base, [
    partition(TOPIC_A, 1, [2]),
    change({ topicId: TOPIC_A, partitionId: 0, leader: -1 }),
    makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: TOPIC_A })),
  ]);
  assert.deepEqual(base, snapshot);
});

/** A canonical random uuid string (the last character carries 2 bits, so it is "A"). */
function uuid(random: SeededRandom): string {
  let s = "";
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < 21; i++) s += alphabet[random.intBelow(64)];
  return s + "A";
}

function randomImage(seed: number): MetadataImage {
  const random = new SeededRandom(seed);
  const records: MetadataRecord[] = [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: "metadata.version", featureLevel: 21 }),
    ),
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: "group.version", featureLevel: 1 }),
    ),
  ];
  const brokers = 1 + random.intBelow(6);
  for (let id = 1; id <= brokers; id++) {
    records.push(register(id, 100 + id, random.intBelow(2) === 0 ? null : `rack${id % 2}`));
    if (random.intBelow(3) > 0) {
      records.push(makeRecord(
        RecordType.UNFENCE_BROKER,
        0,
        createUnfenceBrokerRecord({ id, epoch: BigInt(100 + id) }),
      ));
    }
  }
  const topics = random.intBelow(8);
  for (let t = 0; t < topics; t++) {
    const topicId = uuid(random);
    const name = `topic-${t}`;
    records.push(makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name, topicId })));
    const partitions = 1 + random.intBelow(5);
    for (let p = 0; p < partitions; p++) {
      records.push(partition(topicId, p, [1 + random.intBelow(brokers)]));
      if (random.intBelow(2) === 0) {
        records.push(change({ topicId, partitionId: p, leader: -1 }));
      }
    }
    if (random.intBelow(2) === 0) {
      records.push(makeRecord(
        RecordType.CONFIG,
        0,
        createConfigRecord({
          resourceType: ConfigResourceType.TOPIC,
          resourceName: name,
          name: "cleanup.policy",
          value: "compact",
        }),
      ));
    }
  }
  records.push(makeRecord(
    RecordType.PRODUCER_IDS,
    0,
    createProducerIdsRecord({ nextProducerId: BigInt(1000 * random.intBelow(50)) }),
  ));
  records.push(makeRecord(
    RecordType.CLIENT_QUOTA,
    0,
    createClientQuotaRecord({
      entity: [createEntityData({ entityType: "user", entityName: null })],
      key: "consumer_byte_rate",
      value: random.intBelow(1000),
    }),
  ));
  records.push(makeRecord(
    RecordType.ACCESS_CONTROL_ENTRY,
    0,
    createAccessControlEntryRecord({ id: uuid(random), resourceName: "*", principal: "User:a" }),
  ));
  records.push(makeRecord(
    RecordType.REGISTER_CONTROLLER,
    0,
    createRegisterControllerRecord({ controllerId: 3000, incarnationId: uuid(random) }),
  ));
  return applyRecords(EMPTY_IMAGE, records);
}

Deno.test("a snapshot of a random image rebuilds the same image", () => {
  // KIP-630: a snapshot is the records that recreate the image from nothing.
  for (let seed = 1; seed <= 20; seed++) {
    const img = randomImage(seed);
    assert.deepEqual(applyRecords(EMPTY_IMAGE, imageToRecords(img)), img, `seed ${seed}`);
  }
});

Deno.test("snapshot records survive encoding and decoding with the generated codecs", () => {
  const img = randomImage(7);
  const w = new Writer();
  const records = imageToRecords(img);
  for (const r of records) writeMetadataRecord(w, r);
  const r = new Reader(w.finish());
  const decoded: MetadataRecord[] = records.map(() => readMetadataRecord(r));
  assert.deepEqual(applyRecords(EMPTY_IMAGE, decoded), img);
});

Deno.test("applying 100k partition records in one batch is timed", () => {
  const topics = 100;
  const perTopic = 1000;
  const records: MetadataRecord[] = [register(1, 1), register(2, 2), register(3, 3)];
  const random = new SeededRandom(3);
  for (let t = 0; t < topics; t++) {
    const topicId = uuid(random);
    records.push(makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: `t${t}`, topicId })));
    for (let p = 0; p < perTopic; p++) records.push(partition(topicId, p, [1, 2, 3]));
  }
  const started = performance.now();
  const img = applyRecords(EMPTY_IMAGE, records);
  const appliedMs = performance.now() - started;
  const snapStarted = performance.now();
  const snapshot = imageToRecords(img);
  const snapshotMs = performance.now() - snapStarted;
  console.log(
    `applied ${records.length} records (${topics * perTopic} partitions) in ${
      appliedMs.toFixed(0)
    } ms; imageToRecords in ${snapshotMs.toFixed(0)} ms`,
  );
  assert.equal(snapshot.length, records.length);
  assert.equal(img.topics.byName.get("t99")?.partitions.size, perTopic);
});
