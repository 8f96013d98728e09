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
  };

// ---- effects ----

/** A response to a request the caller parked under `handle`. */
export type GroupResponse =
  | { api: "JoinGroup"; response: JoinGroupResult }
  | { api: "SyncGroup"; response: SyncGroupResult }
  | { api: "LeaveGroup"; response: LeaveGroupResult }
  | { api: "OffsetCommit"; response: OffsetCommitResult }
  | { api: "OffsetDelete"; response: OffsetDeleteResult }
  | { api: "DeleteGroups"; response: DeleteGroupsResult };

/**
 * What the caller must do, in order: append records to `__consumer_offsets` (then report back
 * with `appendComplete(appendId, ...)`), or answer a parked request.
 */
export type GroupEffect<H> =
  | { type: "append"; appendId: number; records: GroupRecord[] }
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
};
