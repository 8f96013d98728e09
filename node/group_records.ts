/**
 * The `__consumer_offsets` record format: the group coordinator's {@link GroupRecord}s to and from
 * magic v2 batches. A record key is an int16 key version followed by the key body (versions 0-1
 * OffsetCommitKey, 2 GroupMetadataKey, 3-8 the KIP-848 ConsumerGroup* records; share group
 * records, 9+, are skipped); a value is an int16 value version followed by the value body, or null
 * for a tombstone.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type {
  ConsumerGroupRecord,
  GroupMetadataValue,
  GroupRecord,
  OffsetCommitValue,
} from "../core/group/types.ts";
import { Reader } from "../net/protocol/reader.ts";
import { Writer } from "../net/protocol/writer.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  encodeBatch,
  type Record,
} from "../net/protocol/records.ts";
import {
  batchesIn,
  CorruptBatchError,
  isControl,
  isTransactional,
  magicAt,
  readBatchHeader,
} from "../net/protocol/record_batch.ts";
import {
  createOffsetCommitKey,
  readOffsetCommitKey,
  writeOffsetCommitKey,
} from "../net/protocol/generated/offset_commit_key.ts";
import {
  createOffsetCommitValue,
  readOffsetCommitValue,
  writeOffsetCommitValue,
} from "../net/protocol/generated/offset_commit_value.ts";
import {
  createGroupMetadataKey,
  readGroupMetadataKey,
  writeGroupMetadataKey,
} from "../net/protocol/generated/group_metadata_key.ts";
import {
  createGroupMetadataValue,
  createMemberMetadata,
  readGroupMetadataValue,
  writeGroupMetadataValue,
} from "../net/protocol/generated/group_metadata_value.ts";

import * as cgMetadataKey from "../net/protocol/generated/consumer_group_metadata_key.ts";
import * as cgMetadataValue from "../net/protocol/generated/consumer_group_metadata_value.ts";
import * as cgPartitionKey from "../net/protocol/generated/consumer_group_partition_metadata_key.ts";
import * as cgPartitionValue from "../net/protocol/generated/consumer_group_partition_metadata_value.ts";
import * as cgMemberKey from "../net/protocol/generated/consumer_group_member_metadata_key.ts";
import * as cgMemberValue from "../net/protocol/generated/consumer_group_member_metadata_value.ts";
import * as cgTargetMetaKey from "../net/protocol/generated/consumer_group_target_assignment_metadata_key.ts";
import * as cgTargetMetaValue from "../net/protocol/generated/consumer_group_target_assignment_metadata_value.ts";
import * as cgTargetMemberKey from "../net/protocol/generated/consumer_group_target_assignment_member_key.ts";
import * as cgTargetMemberValue from "../net/protocol/generated/consumer_group_target_assignment_member_value.ts";
import * as cgCurrentKey from "../net/protocol/generated/consumer_group_current_member_assignment_key.ts";
import * as cgCurrentValue from "../net/protocol/generated/consumer_group_current_member_assignment_value.ts";

/** The key version of each KIP-848 record type (value version is always 0). */
const CONSUMER_KEY_VERSIONS: { [T in ConsumerGroupRecord["type"]]: number } = {
  consumerGroupMetadata: 3,
  consumerGroupPartitionMetadata: 4,
  consumerGroupMemberMetadata: 5,
  consumerGroupTargetAssignmentMetadata: 6,
  consumerGroupTargetAssignmentMember: 7,
  consumerGroupCurrentMemberAssignment: 8,
};

function isConsumerRecord(record: GroupRecord): record is ConsumerGroupRecord {
  return record.type !== "offsetCommit" && record.type !== "groupMetadata";
}

function encodeConsumerKey(record: ConsumerGroupRecord): Uint8Array {
  const w = new Writer(64);
  const version = CONSUMER_KEY_VERSIONS[record.type];
  w.int16(version);
  const groupId = record.key.group;
  switch (record.type) {
    case "consumerGroupMetadata":
      cgMetadataKey.writeConsumerGroupMetadataKey(w, version, {
        groupId,
        _unknownTaggedFields: [],
      });
      break;
    case "consumerGroupPartitionMetadata":
      cgPartitionKey.writeConsumerGroupPartitionMetadataKey(w, version, {
        groupId,
        _unknownTaggedFields: [],
      });
      break;
    case "consumerGroupTargetAssignmentMetadata":
      cgTargetMetaKey.writeConsumerGroupTargetAssignmentMetadataKey(w, version, {
        groupId,
        _unknownTaggedFields: [],
      });
      break;
    case "consumerGroupMemberMetadata":
      cgMemberKey.writeConsumerGroupMemberMetadataKey(
        w,
        version,
        cgMemberKey.createConsumerGroupMemberMetadataKey({
          groupId,
          memberId: record.key.memberId,
        }),
      );
      break;
    case "consumerGroupTargetAssignmentMember":
      cgTargetMemberKey.writeConsumerGroupTargetAssignmentMemberKey(
        w,
        version,
        cgTargetMemberKey.createConsumerGroupTargetAssignmentMemberKey({
          groupId,
          memberId: record.key.memberId,
        }),
      );
      break;
    case "consumerGroupCurrentMemberAssignment":
      cgCurrentKey.writeConsumerGroupCurrentMemberAssignmentKey(
        w,
        version,
        cgCurrentKey.createConsumerGroupCurrentMemberAssignmentKey({
          groupId,
          memberId: record.key.memberId,
        }),
      );
      break;
  }
  return w.finish();
}

function encodeConsumerValue(record: ConsumerGroupRecord): Uint8Array | null {
  if (record.value === null) return null;
  const w = new Writer(128);
  w.int16(0);
  switch (record.type) {
    case "consumerGroupMetadata":
      cgMetadataValue.writeConsumerGroupMetadataValue(
        w,
        0,
        cgMetadataValue.createConsumerGroupMetadataValue({ epoch: record.value!.epoch }),
      );
      break;
    case "consumerGroupPartitionMetadata":
      cgPartitionValue.writeConsumerGroupPartitionMetadataValue(
        w,
        0,
        cgPartitionValue.createConsumerGroupPartitionMetadataValue({
          topics: record.value!.topics.map((t) => cgPartitionValue.createTopicMetadata({ ...t })),
        }),
      );
      break;
    case "consumerGroupTargetAssignmentMetadata":
      cgTargetMetaValue.writeConsumerGroupTargetAssignmentMetadataValue(
        w,
        0,
        cgTargetMetaValue.createConsumerGroupTargetAssignmentMetadataValue({
          assignmentEpoch: record.value!.assignmentEpoch,
        }),
      );
      break;
    case "consumerGroupMemberMetadata":
      cgMemberValue.writeConsumerGroupMemberMetadataValue(
        w,
        0,
        cgMemberValue.createConsumerGroupMemberMetadataValue({
          ...record.value!,
          classicMemberMetadata: record.value!.classicMemberMetadata === null
            ? null
            : cgMemberValue.createClassicMemberMetadata({
              sessionTimeoutMs: record.value!.classicMemberMetadata.sessionTimeoutMs,
              supportedProtocols: record.value!.classicMemberMetadata.supportedProtocols.map((p) =>
                cgMemberValue.createClassicProtocol({ name: p.name, metadata: p.metadata })
              ),
            }),
        }),
      );
      break;
    case "consumerGroupTargetAssignmentMember":
      cgTargetMemberValue.writeConsumerGroupTargetAssignmentMemberValue(
        w,
        0,
        cgTargetMemberValue.createConsumerGroupTargetAssignmentMemberValue({
          topicPartitions: record.value!.topicPartitions.map((t) =>
            cgTargetMemberValue.createTopicPartition({ ...t })
          ),
        }),
      );
      break;
    case "consumerGroupCurrentMemberAssignment": {
      const v = record.value!;
      cgCurrentValue.writeConsumerGroupCurrentMemberAssignmentValue(
        w,
        0,
        cgCurrentValue.createConsumerGroupCurrentMemberAssignmentValue({
          memberEpoch: v.memberEpoch,
          previousMemberEpoch: v.previousMemberEpoch,
          state: v.state,
          assignedPartitions: v.assignedPartitions.map((t) =>
            cgCurrentValue.createTopicPartitions({ ...t })
          ),
          partitionsPendingRevocation: v.partitionsPendingRevocation.map((t) =>
            cgCurrentValue.createTopicPartitions({ ...t })
          ),
        }),
      );
      break;
    }
  }
  return w.finish();
}

function decodeConsumerRecord(
  keyVersion: number,
  r: Reader,
  value: Uint8Array | null,
): ConsumerGroupRecord | null {
  const valueReader = () => {
    const vr = new Reader(value!);
    return { vr, version: vr.int16() };
  };
  const parts = (list: { topicId: string; partitions: number[] }[]) =>
    list.map((t) => ({ topicId: t.topicId, partitions: t.partitions }));
  switch (keyVersion) {
    case 3: {
      const k = cgMetadataKey.readConsumerGroupMetadataKey(r, keyVersion);
      if (value === null) {
        return { type: "consumerGroupMetadata", key: { group: k.groupId }, value };
      }
      const { vr, version } = valueReader();
      const v = cgMetadataValue.readConsumerGroupMetadataValue(vr, version);
      return {
        type: "consumerGroupMetadata",
        key: { group: k.groupId },
        value: { epoch: v.epoch },
      };
    }
    case 4: {
      const k = cgPartitionKey.readConsumerGroupPartitionMetadataKey(r, keyVersion);
      const key = { group: k.groupId };
      if (value === null) return { type: "consumerGroupPartitionMetadata", key, value };
      const { vr, version } = valueReader();
      const v = cgPartitionValue.readConsumerGroupPartitionMetadataValue(vr, version);
      return {
        type: "consumerGroupPartitionMetadata",
        key,
        value: {
          topics: v.topics.map((t) => ({
            topicId: t.topicId,
            topicName: t.topicName,
            numPartitions: t.numPartitions,
          })),
        },
      };
    }
    case 5: {
      const k = cgMemberKey.readConsumerGroupMemberMetadataKey(r, keyVersion);
      const key = { group: k.groupId, memberId: k.memberId };
      if (value === null) return { type: "consumerGroupMemberMetadata", key, value };
      const { vr, version } = valueReader();
      const v = cgMemberValue.readConsumerGroupMemberMetadataValue(vr, version);
      return {
        type: "consumerGroupMemberMetadata",
        key,
        value: {
          instanceId: v.instanceId,
          rackId: v.rackId,
          clientId: v.clientId,
          clientHost: v.clientHost,
          subscribedTopicNames: v.subscribedTopicNames,
          subscribedTopicRegex: v.subscribedTopicRegex,
          rebalanceTimeoutMs: v.rebalanceTimeoutMs,
          serverAssignor: v.serverAssignor,
          classicMemberMetadata: v.classicMemberMetadata === null ? null : {
            sessionTimeoutMs: v.classicMemberMetadata.sessionTimeoutMs,
            supportedProtocols: v.classicMemberMetadata.supportedProtocols.map((p) => ({
              name: p.name,
              metadata: p.metadata,
            })),
          },
        },
      };
    }
    case 6: {
      const k = cgTargetMetaKey.readConsumerGroupTargetAssignmentMetadataKey(r, keyVersion);
      const key = { group: k.groupId };
      if (value === null) return { type: "consumerGroupTargetAssignmentMetadata", key, value };
      const { vr, version } = valueReader();
      const v = cgTargetMetaValue.readConsumerGroupTargetAssignmentMetadataValue(vr, version);
      return {
        type: "consumerGroupTargetAssignmentMetadata",
        key,
        value: { assignmentEpoch: v.assignmentEpoch },
      };
    }
    case 7: {
      const k = cgTargetMemberKey.readConsumerGroupTargetAssignmentMemberKey(r, keyVersion);
      const key = { group: k.groupId, memberId: k.memberId };
      if (value === null) return { type: "consumerGroupTargetAssignmentMember", key, value };
      const { vr, version } = valueReader();
      const v = cgTargetMemberValue.readConsumerGroupTargetAssignmentMemberValue(vr, version);
      return {
        type: "consumerGroupTargetAssignmentMember",
        key,
        value: { topicPartitions: parts(v.topicPartitions) },
      };
    }
    case 8: {
      const k = cgCurrentKey.readConsumerGroupCurrentMemberAssignmentKey(r, keyVersion);
      const key = { group: k.groupId, memberId: k.memberId };
      if (value === null) return { type: "consumerGroupCurrentMemberAssignment", key, value };
      const { vr, version } = valueReader();
      const v = cgCurrentValue.readConsumerGroupCurrentMemberAssignmentValue(vr, version);
      return {
        type: "consumerGroupCurrentMemberAssignment",
        key,
        value: {
          memberEpoch: v.memberEpoch,
          previousMemberEpoch: v.previousMemberEpoch,
          state: v.state,
          assignedPartitions: parts(v.assignedPartitions),
          partitionsPendingRevocation: parts(v.partitionsPendingRevocation),
        },
      };
    }
    default:
      return null;
  }
}

function safeNumber(value: bigint, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new CorruptBatchError(`${what} ${value} in __consumer_offsets is not a safe integer.`);
  }
  return n;
}

/** Encodes one record's key: int16 key version, then the key body. */
export function encodeGroupRecordKey(record: GroupRecord): Uint8Array {
  if (isConsumerRecord(record)) return encodeConsumerKey(record);
  const w = new Writer(64);
  w.int16(record.keyVersion);
  if (record.type === "offsetCommit") {
    writeOffsetCommitKey(w, record.keyVersion, createOffsetCommitKey(record.key));
  } else {
    writeGroupMetadataKey(w, record.keyVersion, createGroupMetadataKey(record.key));
  }
  return w.finish();
}

/** Encodes one record's value (int16 value version, then the body), or null for a tombstone. */
export function encodeGroupRecordValue(record: GroupRecord): Uint8Array | null {
  if (isConsumerRecord(record)) return encodeConsumerValue(record);
  const w = new Writer(128);
  if (record.type === "offsetCommit") {
    const v = record.value;
    if (v === null) return null;
    w.int16(record.valueVersion);
    writeOffsetCommitValue(
      w,
      record.valueVersion,
      createOffsetCommitValue({
        offset: BigInt(v.offset),
        // Both fields are ignorable: value v1 has no leader epoch, v3 no expire timestamp.
        leaderEpoch: record.valueVersion >= 3 ? v.leaderEpoch : -1,
        metadata: v.metadata,
        commitTimestamp: BigInt(v.commitTimestamp),
        expireTimestamp: record.valueVersion === 1 ? BigInt(v.expireTimestamp) : -1n,
      }),
    );
  } else {
    const v = record.value;
    if (v === null) return null;
    w.int16(record.valueVersion);
    writeGroupMetadataValue(
      w,
      record.valueVersion,
      createGroupMetadataValue({
        protocolType: v.protocolType,
        generation: v.generation,
        protocol: v.protocol,
        leader: v.leader,
        currentStateTimestamp: BigInt(v.currentStateTimestamp),
        members: v.members.map((m) => createMemberMetadata({ ...m })),
      }),
    );
  }
  return w.finish();
}

/**
 * Encodes the records of one `append` effect as one uncompressed v2 batch (base offset 0; the log
 * assigns offsets), every record stamped `nowMs`.
 *
 * @example
 * ```ts
 * import { encodeGroupRecordBatch } from "./group_records.ts";
 * const batch = encodeGroupRecordBatch([{
 *   type: "groupMetadata", keyVersion: 2, valueVersion: 3, key: { group: "g" }, value: null,
 * }], Date.now());
 * ```
 */
export function encodeGroupRecordBatch(
  records: readonly GroupRecord[],
  nowMs: number,
  transactional?: { producerId: bigint; producerEpoch: number },
): Uint8Array {
  assert(records.length > 0, "An append effect must carry at least one record.");
  const batchRecords: Record[] = records.map((record, i) => ({
    offsetDelta: i,
    timestampDelta: 0,
    key: encodeGroupRecordKey(record),
    value: encodeGroupRecordValue(record),
    headers: [],
  }));
  if (transactional === undefined) {
    return encodeBatch({ baseOffset: 0, baseTimestamp: nowMs, records: batchRecords });
  }
  // TxnOffsetCommit: a transactional batch of the producer, without a sequence (Kafka's
  // coordinator writes NO_SEQUENCE), ended by the marker the transaction coordinator sends.
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: nowMs,
    records: batchRecords,
    producerId: Number(transactional.producerId),
    producerEpoch: transactional.producerEpoch,
    baseSequence: -1,
    transactional: true,
  });
}

function offsetCommitValue(bytes: Uint8Array): OffsetCommitValue {
  const r = new Reader(bytes);
  const version = r.int16();
  const v = readOffsetCommitValue(r, version);
  return {
    offset: safeNumber(v.offset, "Committed offset"),
    leaderEpoch: v.leaderEpoch,
    metadata: v.metadata,
    commitTimestamp: safeNumber(v.commitTimestamp, "Commit timestamp"),
    expireTimestamp: safeNumber(v.expireTimestamp, "Expire timestamp"),
  };
}

function groupMetadataValue(bytes: Uint8Array): GroupMetadataValue {
  const r = new Reader(bytes);
  const version = r.int16();
  const v = readGroupMetadataValue(r, version);
  return {
    protocolType: v.protocolType,
    generation: v.generation,
    protocol: v.protocol,
    leader: v.leader,
    currentStateTimestamp: safeNumber(v.currentStateTimestamp, "Group state timestamp"),
    members: v.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeout,
      sessionTimeout: m.sessionTimeout,
      subscription: m.subscription,
      assignment: m.assignment,
    })),
  };
}

/**
 * Decodes one `__consumer_offsets` record, or returns null for a record the coordinator does not
 * keep (share group records, key versions 9+). Throws on malformed bytes.
 *
 * @example
 * ```ts
 * import { decodeGroupRecord, encodeGroupRecordKey } from "./group_records.ts";
 * const key = encodeGroupRecordKey({
 *   type: "groupMetadata", keyVersion: 2, valueVersion: 3, key: { group: "g" }, value: null,
 * });
 * decodeGroupRecord(key, null); // the tombstone of group "g"
 * ```
 */
export function decodeGroupRecord(
  key: Uint8Array | null,
  value: Uint8Array | null,
): GroupRecord | null {
  if (key === null) {
    throw new CorruptBatchError("A __consumer_offsets record has a null key.");
  }
  const r = new Reader(key);
  const keyVersion = r.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const k = readOffsetCommitKey(r, keyVersion);
    const parsed = value === null ? null : offsetCommitValue(value);
    return {
      type: "offsetCommit",
      keyVersion: 1,
      valueVersion: parsed !== null && parsed.expireTimestamp !== -1 ? 1 : 3,
      key: { group: k.group, topic: k.topic, partition: k.partition },
      value: parsed,
    };
  }
  if (keyVersion === 2) {
    const k = readGroupMetadataKey(r, keyVersion);
    return {
      type: "groupMetadata",
      keyVersion: 2,
      valueVersion: 3,
      key: { group: k.group },
      value: value === null ? null : groupMetadataValue(value),
    };
  }
  return decodeConsumerRecord(keyVersion, r, value);
}

/** What {@link decodeGroupRecordBatches} found in a chunk of the log. */
export interface DecodedGroupRecords {
  records: GroupRecord[];
  /** The offset after the last batch consumed (`fromOffset` when none was). */
  nextOffset: number;
}

/**
 * Decodes the records at offsets `[fromOffset, highWatermark)` of a chunk read from a
 * `__consumer_offsets` partition, skipping control batches. Batches of other magics than 2 are
 * skipped by their last offset (kraftling never writes them to this topic). With
 * `openTransactions`, records of transactional batches (TxnOffsetCommit) are held there by
 * producer id until that producer's marker: a COMMIT releases them into `records` at the marker's
 * place, an ABORT drops them; what remains at the end belongs to transactions still open.
 *
 * @example
 * ```ts
 * import { decodeGroupRecordBatches } from "./group_records.ts";
 * decodeGroupRecordBatches(new Uint8Array(0), 0, 0); // { records: [], nextOffset: 0 }
 * ```
 */
export function decodeGroupRecordBatches(
  bytes: Uint8Array,
  fromOffset: number,
  highWatermark: number,
  openTransactions?: Map<bigint, GroupRecord[]>,
): DecodedGroupRecords {
  const records: GroupRecord[] = [];
  let nextOffset = fromOffset;
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    if (magicAt(bytes, pos) !== 2) {
      throw new CorruptBatchError(
        `__consumer_offsets holds a magic ${magicAt(bytes, pos)} batch; only magic 2 is supported.`,
      );
    }
    const header = readBatchHeader(bytes, pos);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (header.baseOffset >= highWatermark) break;
    if (lastOffset < nextOffset) continue;
    const transactional = openTransactions !== undefined && isTransactional(header.attributes);
    const producerId = BigInt(header.producerId);
    if (isControl(header.attributes)) {
      if (transactional) {
        // The marker ends the producer's transaction: its offsets count from here on a commit.
        const marker = decodeBatch(bytes.subarray(pos, pos + sizeBytes)).records[0];
        const type = decodeControlKey(marker?.key ?? null).type;
        const pending = openTransactions!.get(producerId) ?? [];
        openTransactions!.delete(producerId);
        if (type === ControlRecordType.COMMIT) records.push(...pending);
      }
    } else {
      const batch = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
      let target = records;
      if (transactional) {
        target = openTransactions!.get(producerId) ?? [];
        openTransactions!.set(producerId, target);
      }
      for (const record of batch.records) {
        const offset = header.baseOffset + record.offsetDelta;
        if (offset < nextOffset || offset >= highWatermark) continue;
        const decoded = decodeGroupRecord(record.key, record.value);
        if (decoded !== null) target.push(decoded);
      }
    }
    nextOffset = Math.min(lastOffset + 1, highWatermark);
  }
  return { records, nextOffset };
}
