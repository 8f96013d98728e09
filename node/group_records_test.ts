// The __consumer_offsets record format (Kafka's GroupCoordinatorRecordSerde: int16 key version
// + key, int16 value version + value; OffsetCommitKey v0-1, GroupMetadataKey v2, null values are
// tombstones).
import assert from "node:assert/strict";
import type { GroupRecord } from "../core/group/types.ts";
import { Writer } from "../net/protocol/writer.ts";
import { encodeBatch } from "../net/protocol/records.ts";
import { setBaseOffset } from "../net/protocol/record_batch.ts";
import {
  decodeGroupRecord,
  decodeGroupRecordBatches,
  encodeGroupRecordBatch,
  encodeGroupRecordKey,
} from "./group_records.ts";

const OFFSET: GroupRecord = {
  type: "offsetCommit",
  keyVersion: 1,
  valueVersion: 3,
  key: { group: "g", topic: "orders", partition: 2 },
  value: { offset: 42, leaderEpoch: 5, metadata: "m", commitTimestamp: 1000, expireTimestamp: -1 },
};

const EXPIRING: GroupRecord = {
  type: "offsetCommit",
  keyVersion: 1,
  valueVersion: 1,
  key: { group: "g", topic: "orders", partition: 3 },
  value: { offset: 7, leaderEpoch: -1, metadata: "", commitTimestamp: 1000, expireTimestamp: 9000 },
};

const GROUP: GroupRecord = {
  type: "groupMetadata",
  keyVersion: 2,
  valueVersion: 3,
  key: { group: "g" },
  value: {
    protocolType: "consumer",
    generation: 4,
    protocol: "range",
    leader: "a-1",
    currentStateTimestamp: 1234,
    members: [{
      memberId: "a-1",
      groupInstanceId: null,
      clientId: "a",
      clientHost: "/127.0.0.1",
      rebalanceTimeout: 30000,
      sessionTimeout: 10000,
      subscription: new Uint8Array([1, 2]),
      assignment: new Uint8Array([3]),
    }],
  },
};

const TOMBSTONE: GroupRecord = { ...GROUP, value: null } as GroupRecord;

function batchAt(baseOffset: number, records: GroupRecord[]): Uint8Array {
  const bytes = encodeGroupRecordBatch(records, 5000);
  setBaseOffset(bytes, 0, baseOffset);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("offset, group and tombstone records round-trip through a batch", () => {
  const bytes = batchAt(0, [OFFSET, EXPIRING, GROUP, TOMBSTONE]);
  const { records, nextOffset } = decodeGroupRecordBatches(bytes, 0, 4);
  assert.equal(nextOffset, 4);
  assert.deepEqual(records, [OFFSET, EXPIRING, GROUP, TOMBSTONE]);
});

Deno.test("keys carry Kafka's key versions: 1 for offsets, 2 for group metadata", () => {
  const offsetKey = encodeGroupRecordKey(OFFSET);
  assert.deepEqual([...offsetKey.subarray(0, 2)], [0, 1]);
  assert.deepEqual([...encodeGroupRecordKey(GROUP).subarray(0, 2)], [0, 2]);
  // Expected bytes: version 1, "g", "orders", partition 2.
  const w = new Writer(32);
  w.int16(1).string("g").string("orders").int32(2);
  assert.deepEqual(offsetKey, w.finish());
});

Deno.test("records past the high watermark or before the start offset are not loaded", () => {
  const log = concat(batchAt(0, [OFFSET, EXPIRING]), batchAt(2, [GROUP]), batchAt(3, [TOMBSTONE]));
  const middle = decodeGroupRecordBatches(log, 1, 3);
  assert.deepEqual(middle.records, [EXPIRING, GROUP]);
  assert.equal(middle.nextOffset, 3);
});

Deno.test("share group records (key version 9+) are skipped", () => {
  const w = new Writer(16);
  w.int16(9).string("g");
  assert.equal(decodeGroupRecord(w.finish(), new Uint8Array([0, 0])), null);
  const batch = encodeBatch({
    baseOffset: 0,
    records: [{ offsetDelta: 0, timestampDelta: 0, key: w.finish(), value: null, headers: [] }],
  });
  assert.deepEqual(decodeGroupRecordBatches(batch, 0, 1), { records: [], nextOffset: 1 });
});

// KIP-848: ConsumerGroup* records, key versions 3-8, value version 0.
Deno.test("KIP-848 consumer group records and tombstones round-trip", () => {
  const T = "q1Sh-9_ISia_fV4lGz8fqw";
  const key = { group: "g", memberId: "m" };
  const records: GroupRecord[] = [
    { type: "consumerGroupMetadata", key: { group: "g" }, value: { epoch: 4 } },
    {
      type: "consumerGroupPartitionMetadata",
      key: { group: "g" },
      value: { topics: [{ topicId: T, topicName: "t", numPartitions: 6 }] },
    },
    {
      type: "consumerGroupMemberMetadata",
      key,
      value: {
        instanceId: null,
        rackId: "r",
        clientId: "c",
        clientHost: "/127.0.0.1",
        subscribedTopicNames: ["t"],
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: 30000,
        serverAssignor: "uniform",
        classicMemberMetadata: null,
      },
    },
    {
      // A classic member of a consumer group (KIP-848 online migration): tagged field 0.
      type: "consumerGroupMemberMetadata",
      key: { group: "g", memberId: "classic" },
      value: {
        instanceId: "i-1",
        rackId: null,
        clientId: "rdkafka",
        clientHost: "/127.0.0.1",
        subscribedTopicNames: ["t"],
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: 45000,
        serverAssignor: null,
        classicMemberMetadata: {
          sessionTimeoutMs: 10000,
          supportedProtocols: [{ name: "range", metadata: new Uint8Array([0, 1, 0, 0, 0, 0]) }],
        },
      },
    },
    {
      type: "consumerGroupTargetAssignmentMetadata",
      key: { group: "g" },
      value: { assignmentEpoch: 4 },
    },
    {
      type: "consumerGroupTargetAssignmentMember",
      key,
      value: { topicPartitions: [{ topicId: T, partitions: [0, 1] }] },
    },
    {
      type: "consumerGroupCurrentMemberAssignment",
      key,
      value: {
        memberEpoch: 4,
        previousMemberEpoch: 3,
        state: 1,
        assignedPartitions: [{ topicId: T, partitions: [0] }],
        partitionsPendingRevocation: [{ topicId: T, partitions: [2] }],
      },
    },
    { type: "consumerGroupCurrentMemberAssignment", key, value: null },
  ];
  const { records: decoded } = decodeGroupRecordBatches(batchAt(0, records), 0, records.length);
  assert.deepEqual(decoded, records);
});

Deno.test("a record with a null key is corrupt", () => {
  assert.throws(() => decodeGroupRecord(null, null), /null key/);
});

Deno.test("a value v1 (retention time given) drops the leader epoch it cannot carry", () => {
  const withEpoch = {
    ...EXPIRING,
    value: { ...EXPIRING.value!, leaderEpoch: 5 },
  } as GroupRecord;
  const { records } = decodeGroupRecordBatches(batchAt(0, [withEpoch]), 0, 1);
  assert.deepEqual(records, [EXPIRING]);
});
