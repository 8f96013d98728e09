/**
 * Plain input, output, record and effect types of the classic group coordinator. Field names
 * mirror the Kafka JSON schemas in lowerCamelCase (the generated codecs use the same names), so
 * the broker maps wire messages to these with little more than a spread. Offsets and timestamps
 * are `number` here; the broker converts from and to the codecs' `bigint`.
 *
 * @example
 * ```ts
 * import type { JoinGroupInput } from "./types.ts";
 * const join: JoinGroupInput = {
 *   apiVersion: 9, groupId: "g", sessionTimeoutMs: 10000, rebalanceTimeoutMs: 30000,
 *   memberId: "", groupInstanceId: null, protocolType: "consumer",
 *   protocols: [{ name: "range", metadata: new Uint8Array() }], clientId: "c", clientHost: "/127.0.0.1",
 * };
 * ```
 */

/** A protocol a member supports, in the member's order of preference. */
export interface JoinGroupProtocol {
  name: string;
  metadata: Uint8Array;
}

/** JoinGroupRequest fields plus the request's api version and client identity. */
export interface JoinGroupInput {
  apiVersion: number;
  groupId: string;
  sessionTimeoutMs: number;
  /** -1 (v0) means "use sessionTimeoutMs". */
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  reason?: string | null;
  clientId: string;
  clientHost: string;
}

export interface JoinGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Uint8Array;
}

/** JoinGroupResponse fields without throttleTimeMs. */
export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: JoinGroupResponseMember[];
}

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Uint8Array;
}

/** SyncGroupRequest fields plus the api version (v5+ must carry protocolType and protocolName). */
export interface SyncGroupInput {
  apiVersion: number;
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: SyncGroupAssignment[];
}

/** SyncGroupResponse fields without throttleTimeMs. */
export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

export interface HeartbeatInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface HeartbeatResult {
  errorCode: number;
}

export interface LeaveGroupMemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

/** LeaveGroupRequest fields: `memberId` is read for v0-2, `members` for v3+. */
export interface LeaveGroupInput {
  apiVersion: number;
  groupId: string;
  memberId: string;
  members: LeaveGroupMemberIdentity[];
}

export interface LeaveGroupMemberResult {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

/** LeaveGroupResponse fields; for v0-2 `errorCode` carries the single member's error. */
export interface LeaveGroupResult {
  errorCode: number;
  members: LeaveGroupMemberResult[];
}

export interface OffsetCommitInputPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  /** v1 only; -1 means "now". */
  commitTimestamp?: number;
  committedMetadata: string | null;
}

export interface OffsetCommitInputTopic {
  name: string;
  partitions: OffsetCommitInputPartition[];
}

/** OffsetCommitRequest fields; generationIdOrMemberEpoch -1 with memberId "" is a simple commit. */
export interface OffsetCommitInput {
  apiVersion: number;
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v2-4 only; -1 means the broker's offsets.retention.minutes. */
  retentionTimeMs: number;
  topics: OffsetCommitInputTopic[];
}

/**
 * TxnOffsetCommitRequest fields: offsets a transactional producer commits inside its transaction,
 * visible only once the transaction commits. v3+ carry the consumer's generation and member id
 * (KIP-447); older versions send -1 and "".
 */
export interface TxnOffsetCommitInput {
  groupId: string;
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: OffsetCommitInputTopic[];
}

export interface OffsetCommitResultTopic {
  name: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}

export interface OffsetCommitResult {
  topics: OffsetCommitResultTopic[];
}

/** One group of an OffsetFetchRequest (v8+ `groups[]`, or the v0-7 top level); null topics = all. */
export interface OffsetFetchInput {
  groupId: string;
  topics: { name: string; partitionIndexes: number[] }[] | null;
  requireStable: boolean;
}

export interface OffsetFetchResultPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

/** One OffsetFetchResponseGroup (v8+), which the broker flattens for v0-7. */
export interface OffsetFetchResult {
  groupId: string;
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchResultPartition[] }[];
}

export interface OffsetDeleteInput {
  groupId: string;
  topics: { name: string; partitions: { partitionIndex: number }[] }[];
}

export interface OffsetDeleteResult {
  errorCode: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface ListGroupsInput {
  statesFilter: string[];
  typesFilter?: string[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: string;
}

export interface ListGroupsResult {
  errorCode: number;
  groups: ListedGroup[];
}

export interface DescribedGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Uint8Array;
  memberAssignment: Uint8Array;
}

/** DescribeGroupsResponse.DescribedGroup without authorizedOperations. */
export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribedGroupMember[];
}

export interface DeleteGroupsResult {
  results: { groupId: string; errorCode: number }[];
}

// ---- __consumer_offsets records (group-coordinator schemas) ----

export interface OffsetCommitKey {
  group: string;
  topic: string;
  partition: number;
}

export interface OffsetCommitValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1 unless the commit carried a retention time (written with value version 1). */
  expireTimestamp: number;
}

export interface GroupMetadataKey {
  group: string;
}

export interface GroupMetadataMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeout: number;
  sessionTimeout: number;
  subscription: Uint8Array;
  assignment: Uint8Array;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: number;
  members: GroupMetadataMember[];
}

/**
 * One `__consumer_offsets` record. `value: null` is a tombstone. `keyVersion`/`valueVersion` are
 * the versions Kafka writes (offset key 1, group key 2; offset value 1 when it carries an
 * expireTimestamp else 3; group value 3).
 */
export type GroupRecord =
  | {
    type: "offsetCommit";
    keyVersion: 1;
    valueVersion: 1 | 3;
    key: OffsetCommitKey;
    value: OffsetCommitValue | null;
  }
  | {
    type: "groupMetadata";
    keyVersion: 2;
    valueVersion: 3;
    key: GroupMetadataKey;
    value: GroupMetadataValue | null;
  }
  | ConsumerGroupRecord;

// ---- KIP-848 consumer group records (key versions 3-8, value version 0) ----

/** Partitions of one topic, by topic id, as the ConsumerGroup* records store them. */
export interface TopicIdPartitions {
  topicId: string;
  partitions: number[];
}

/** ConsumerGroupMemberMetadataValue. */
export interface ConsumerGroupMemberMetadataValue {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /** Set for a member using the classic protocol (KIP-848 online migration). */
  classicMemberMetadata: {
    sessionTimeoutMs: number;
    supportedProtocols: { name: string; metadata: Uint8Array }[];
  } | null;
}

/** ConsumerGroupCurrentMemberAssignmentValue (`state`: 0 stable, 1 unrevoked, 2 unreleased). */
export interface ConsumerGroupCurrentMemberAssignmentValue {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assignedPartitions: TopicIdPartitions[];
  partitionsPendingRevocation: TopicIdPartitions[];
}

/** ConsumerGroupPartitionMetadataValue without rack information. */
export interface ConsumerGroupPartitionMetadataValue {
  topics: { topicId: string; topicName: string; numPartitions: number }[];
}

/**
 * The KIP-848 records of a consumer group in `__consumer_offsets`: group epoch (key version 3),
 * subscription metadata (4), member metadata (5), target assignment epoch (6), per-member target
 * assignment (7) and per-member current assignment (8). `value: null` is a tombstone.
 */
export type ConsumerGroupRecord =
  | {
    type: "consumerGroupMetadata";
    key: { group: string };
    value: { epoch: number } | null;
  }
  | {
    type: "consumerGroupPartitionMetadata";
    key: { group: string };
    value: ConsumerGroupPartitionMetadataValue | null;
  }
  | {
    type: "consumerGroupMemberMetadata";
    key: { group: string; memberId: string };
    value: ConsumerGroupMemberMetadataValue | null;
  }
  | {
    type: "consumerGroupTargetAssignmentMetadata";
    key: { group: string };
    value: { assignmentEpoch: number } | null;
  }
  | {
    type: "consumerGroupTargetAssignmentMember";
    key: { group: string; memberId: string };
    value: { topicPartitions: TopicIdPartitions[] } | null;
  }
  | {
    type: "consumerGroupCurrentMemberAssignment";
    key: { group: string; memberId: string };
    value: ConsumerGroupCurrentMemberAssignmentValue | null;
  };

// ---- KIP-848 requests ----

/** ConsumerGroupHeartbeatRequest fields plus client identity. */
export interface ConsumerGroupHeartbeatInput {
  groupId: string;
  memberId: string;
  /** 0 joins, -1 leaves, -2 leaves temporarily (static member), otherwise the current epoch. */
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1 when unchanged. */
  rebalanceTimeoutMs: number;
  /** null when unchanged. */
  subscribedTopicNames: string[] | null;
  /**
   * v1+ (KIP-848 regex subscription, RE2 syntax): null when unchanged, "" for none; absent
   * before v1.
   */
  subscribedTopicRegex?: string | null;
  /** null when unchanged or not used. */
  serverAssignor: string | null;
  /** null when unchanged; the partitions the member owns otherwise. */
  topicPartitions: TopicIdPartitions[] | null;
  clientId: string;
  clientHost: string;
  /** The request version (default 0); from v1 the client generates its member id (KIP-1082). */
  apiVersion?: number;
}

/** ConsumerGroupHeartbeatResponse fields without throttleTimeMs. */
export interface ConsumerGroupHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null when unchanged since the member last heard it. */
  assignment: { topicPartitions: TopicIdPartitions[] } | null;
}

/** One topic's partitions in ConsumerGroupDescribe, with the topic name resolved. */
export interface DescribedTopicPartitions {
  topicId: string;
  topicName: string;
  partitions: number[];
}

/** ConsumerGroupDescribeResponse.Member. */
export interface ConsumerGroupDescribedMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: { topicPartitions: DescribedTopicPartitions[] };
  targetAssignment: { topicPartitions: DescribedTopicPartitions[] };
}

/** ConsumerGroupDescribeResponse.DescribedGroup without authorizedOperations. */
export interface ConsumerGroupDescribedGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: ConsumerGroupDescribedMember[];
}

/** The topics a consumer group coordinator can see: the broker's metadata image. */
export interface TopicMetadataLookup {
  byName(name: string): { topicId: string; numPartitions: number } | undefined;
  byId(topicId: string): { name: string; numPartitions: number } | undefined;
  /**
   * Every topic name (regex subscriptions are resolved against them). The same object is
   * returned until a topic is created or deleted, so resolutions are cached by its identity.
   */
  topicNames(): ReadonlyMap<string, unknown>;
}

// ---- effects ----

/** A response to a request the caller parked under `handle`. */
export type GroupResponse =
  | { api: "JoinGroup"; response: JoinGroupResult }
  | { api: "SyncGroup"; response: SyncGroupResult }
  | { api: "LeaveGroup"; response: LeaveGroupResult }
  | { api: "OffsetCommit"; response: OffsetCommitResult }
  | { api: "OffsetDelete"; response: OffsetDeleteResult }
  | { api: "DeleteGroups"; response: DeleteGroupsResult }
  | { api: "ConsumerGroupHeartbeat"; response: ConsumerGroupHeartbeatResult }
  | { api: "TxnOffsetCommit"; response: OffsetCommitResult };

/**
 * What the caller must do, in order: append records to `__consumer_offsets` (then report back
 * with `appendComplete(appendId, ...)`), or answer a parked request.
 */
export type GroupEffect<H> =
  | {
    type: "append";
    appendId: number;
    records: GroupRecord[];
    /** Set for TxnOffsetCommit: the records form a transactional batch of this producer. */
    transactional?: { producerId: bigint; producerEpoch: number };
  }
  | ({ type: "respond"; handle: H } & GroupResponse);

/** Broker settings the coordinator reads, with Kafka's names and defaults. */
export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  groupMaxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms */
  groupInitialRebalanceDelayMs: number;
  /** group.max.size */
  groupMaxSize: number;
  /** offsets.retention.minutes */
  offsetsRetentionMinutes: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** How long a brand new member's parked JoinGroup may wait (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
  /** group.consumer.session.timeout.ms (KIP-848) */
  consumerGroupSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (KIP-848) */
  consumerGroupHeartbeatIntervalMs: number;
  /** group.consumer.max.size (KIP-848) */
  consumerGroupMaxSize: number;
  /** group.consumer.assignors: the server-side assignors; the first is the default. */
  consumerGroupAssignors: string[];
  /**
   * group.consumer.migration.policy: whether a classic group with members becomes a consumer
   * group when a KIP-848 member joins ("upgrade"), and back when its last KIP-848 member leaves
   * ("downgrade").
   */
  consumerGroupMigrationPolicy: "bidirectional" | "upgrade" | "downgrade" | "disabled";
}

/** Kafka's defaults for {@link GroupCoordinatorConfig}. */
export const GROUP_COORDINATOR_DEFAULTS: Readonly<GroupCoordinatorConfig> = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 2147483647,
  offsetsRetentionMinutes: 10080,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetMetadataMaxBytes: 4096,
  newMemberJoinTimeoutMs: 300000,
  consumerGroupSessionTimeoutMs: 45000,
  consumerGroupHeartbeatIntervalMs: 5000,
  consumerGroupMaxSize: 2147483647,
  consumerGroupAssignors: ["uniform", "range"],
  consumerGroupMigrationPolicy: "bidirectional",
};
