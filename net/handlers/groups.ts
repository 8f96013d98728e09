/**
 * The classic group APIs on the wire: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
 * OffsetFetch, ListGroups, DescribeGroups, DeleteGroups and OffsetDelete. Each handler maps its
 * generated request (per version) to the core coordinator's input, asks the {@link GroupService},
 * and maps the result back, applying the per-version shaping KafkaApis and the request/response
 * classes do (v0-v1 OffsetFetch group errors on every partition, "" for a null protocol name
 * before JoinGroup v7, distinct DeleteGroups names, UNKNOWN_TOPIC_OR_PARTITION for offsets of
 * topics that do not exist).
 *
 * @module
 */

import type { ApiHandler, Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { JoinGroupRequest } from "../protocol/generated/join_group_request.ts";
import {
  createJoinGroupResponse,
  createJoinGroupResponseMember,
  type JoinGroupResponse,
} from "../protocol/generated/join_group_response.ts";
import type { SyncGroupRequest } from "../protocol/generated/sync_group_request.ts";
import {
  createSyncGroupResponse,
  type SyncGroupResponse,
} from "../protocol/generated/sync_group_response.ts";
import type { HeartbeatRequest } from "../protocol/generated/heartbeat_request.ts";
import {
  createHeartbeatResponse,
  type HeartbeatResponse,
} from "../protocol/generated/heartbeat_response.ts";
import type { LeaveGroupRequest } from "../protocol/generated/leave_group_request.ts";
import {
  createLeaveGroupResponse,
  createMemberResponse,
  type LeaveGroupResponse,
} from "../protocol/generated/leave_group_response.ts";
import type { OffsetCommitRequest } from "../protocol/generated/offset_commit_request.ts";
import {
  createOffsetCommitResponse,
  createOffsetCommitResponsePartition,
  createOffsetCommitResponseTopic,
  type OffsetCommitResponse,
} from "../protocol/generated/offset_commit_response.ts";
import type { OffsetFetchRequest } from "../protocol/generated/offset_fetch_request.ts";
import {
  createOffsetFetchResponse,
  createOffsetFetchResponseGroup,
  createOffsetFetchResponsePartition,
  createOffsetFetchResponsePartitions,
  createOffsetFetchResponseTopic,
  createOffsetFetchResponseTopics,
  type OffsetFetchResponse,
} from "../protocol/generated/offset_fetch_response.ts";
import type { ListGroupsRequest } from "../protocol/generated/list_groups_request.ts";
import {
  createListedGroup,
  createListGroupsResponse,
  type ListGroupsResponse,
} from "../protocol/generated/list_groups_response.ts";
import type { DescribeGroupsRequest } from "../protocol/generated/describe_groups_request.ts";
import {
  createDescribedGroup,
  createDescribedGroupMember,
  createDescribeGroupsResponse,
  type DescribeGroupsResponse,
} from "../protocol/generated/describe_groups_response.ts";
import type { DeleteGroupsRequest } from "../protocol/generated/delete_groups_request.ts";
import {
  createDeletableGroupResult,
  createDeleteGroupsResponse,
  type DeleteGroupsResponse,
} from "../protocol/generated/delete_groups_response.ts";
import type { OffsetDeleteRequest } from "../protocol/generated/offset_delete_request.ts";
import {
  createOffsetDeleteResponse,
  createOffsetDeleteResponsePartition,
  createOffsetDeleteResponseTopic,
  type OffsetDeleteResponse,
} from "../protocol/generated/offset_delete_response.ts";
import type {
  OffsetCommitInputTopic,
  OffsetFetchInput,
  OffsetFetchResult,
} from "../../core/group/types.ts";
import type { GroupService } from "./group_service.ts";

/**
 * The versions served per api key. These are advertised in ApiVersions, so each range is exactly
 * what the handlers below implement.
 */
export const GROUP_API_VERSIONS: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [ApiKey.OFFSET_COMMIT, { min: 0, max: 9 }],
  [ApiKey.OFFSET_FETCH, { min: 0, max: 9 }],
  [ApiKey.JOIN_GROUP, { min: 0, max: 9 }],
  [ApiKey.HEARTBEAT, { min: 0, max: 4 }],
  [ApiKey.LEAVE_GROUP, { min: 0, max: 5 }],
  [ApiKey.SYNC_GROUP, { min: 0, max: 5 }],
  [ApiKey.DESCRIBE_GROUPS, { min: 0, max: 5 }],
  [ApiKey.LIST_GROUPS, { min: 0, max: 5 }],
  [ApiKey.DELETE_GROUPS, { min: 0, max: 2 }],
  [ApiKey.OFFSET_DELETE, { min: 0, max: 0 }],
]);

/**
 * DescribeGroups `authorizedOperations` with no authorizer: every operation a group supports
 * (READ 3, DELETE 6, DESCRIBE 8 as bits of AclOperation codes).
 */
const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
/** DescribeGroups `authorizedOperations` when not requested (Integer.MIN_VALUE). */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** What every handler gets: the request and its version plus client identity. */
interface Context {
  apiVersion: number;
  header: { clientId: string | null };
  clientHost: string;
}

// ---------------------------------------------------------------- membership

/** JoinGroup v0-v9. The response waits for the rebalance barrier. */
export async function joinGroup(
  service: GroupService,
  request: JoinGroupRequest,
  context: Context,
): Promise<JoinGroupResponse> {
  const v = context.apiVersion;
  const result = await service.joinGroup({
    apiVersion: v,
    groupId: request.groupId,
    sessionTimeoutMs: request.sessionTimeoutMs,
    rebalanceTimeoutMs: v >= 1 ? request.rebalanceTimeoutMs : -1,
    memberId: request.memberId,
    groupInstanceId: v >= 5 ? request.groupInstanceId : null,
    protocolType: request.protocolType,
    protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    reason: v >= 8 ? request.reason : null,
    clientId: context.header.clientId ?? "",
    clientHost: context.clientHost,
  });
  return createJoinGroupResponse({
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // JoinGroupResponse: before v7 the protocol name is not nullable.
    protocolName: v < 7 ? result.protocolName ?? "" : result.protocolName,
    leader: result.leader,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => createJoinGroupResponseMember({ ...m })),
  });
}

/** SyncGroup v0-v5. Followers wait until the leader's assignment is persisted. */
export async function syncGroup(
  service: GroupService,
  request: SyncGroupRequest,
  context: Context,
): Promise<SyncGroupResponse> {
  const v = context.apiVersion;
  const result = await service.syncGroup({
    apiVersion: v,
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: v >= 3 ? request.groupInstanceId : null,
    protocolType: v >= 5 ? request.protocolType : null,
    protocolName: v >= 5 ? request.protocolName : null,
    assignments: request.assignments.map((a) => ({
      memberId: a.memberId,
      assignment: a.assignment,
    })),
  });
  return createSyncGroupResponse({ ...result });
}

/** Heartbeat v0-v4. */
export function heartbeat(
  service: GroupService,
  request: HeartbeatRequest,
  context: Context,
): HeartbeatResponse {
  const result = service.heartbeat({
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : null,
  });
  return createHeartbeatResponse({ errorCode: result.errorCode });
}

/** LeaveGroup v0-v5: one member id before v3, a batch of identities from v3 (KIP-345). */
export async function leaveGroup(
  service: GroupService,
  request: LeaveGroupRequest,
  context: Context,
): Promise<LeaveGroupResponse> {
  const v = context.apiVersion;
  const result = await service.leaveGroup({
    apiVersion: v,
    groupId: request.groupId,
    memberId: v < 3 ? request.memberId : "",
    members: v < 3 ? [] : request.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      reason: v >= 5 ? m.reason : null,
    })),
  });
  return createLeaveGroupResponse({
    errorCode: result.errorCode,
    members: v < 3 ? [] : result.members.map((m) => createMemberResponse({ ...m })),
  });
}

// ---------------------------------------------------------------- offsets

/**
 * Whether a committed offset survives the coordinator, which keeps offsets as JavaScript numbers:
 * beyond 2^53 one would be stored rounded (near 2^63, not at all), so such a partition is
 * answered INVALID_REQUEST instead. No log holds offsets that large.
 *
 * @example
 * ```ts
 * committableOffset(42n); // true
 * committableOffset(9223372036854775807n); // false
 * ```
 */
export function committableOffset(offset: bigint): boolean {
  return offset >= BigInt(Number.MIN_SAFE_INTEGER) && offset <= BigInt(Number.MAX_SAFE_INTEGER);
}

/**
 * OffsetCommit v0-v9. Offsets for topics missing from the metadata image are answered
 * UNKNOWN_TOPIC_OR_PARTITION without reaching the coordinator, as KafkaApis does; offsets no
 * log can reach ({@link committableOffset}) INVALID_REQUEST.
 */
export async function offsetCommit(
  service: GroupService,
  request: OffsetCommitRequest,
  context: Context,
): Promise<OffsetCommitResponse> {
  const v = context.apiVersion;
  const known: OffsetCommitInputTopic[] = [];
  const codes = new Map<string, number>();
  for (const topic of request.topics) {
    if (!service.topicExists(topic.name)) continue;
    // v1 carries the commit's timestamp, which the coordinator keeps as a number too.
    const representable = (p: (typeof topic.partitions)[number]) =>
      committableOffset(p.committedOffset) && (v !== 1 || committableOffset(p.commitTimestamp));
    for (const p of topic.partitions) {
      if (!representable(p)) {
        codes.set(`${topic.name}\u0000${p.partitionIndex}`, ErrorCode.INVALID_REQUEST);
      }
    }
    const partitions = topic.partitions.filter(representable);
    if (partitions.length === 0) continue;
    known.push({
      name: topic.name,
      partitions: partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: Number(p.committedOffset),
        committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
        commitTimestamp: v === 1 ? Number(p.commitTimestamp) : undefined,
        committedMetadata: p.committedMetadata,
      })),
    });
  }
  if (known.length > 0) {
    const result = await service.offsetCommit({
      apiVersion: v,
      groupId: request.groupId,
      generationIdOrMemberEpoch: v >= 1 ? request.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? request.memberId : "",
      groupInstanceId: v >= 7 ? request.groupInstanceId : null,
      retentionTimeMs: v >= 2 && v <= 4 ? Number(request.retentionTimeMs) : -1,
      topics: known,
    });
    for (const topic of result.topics) {
      for (const p of topic.partitions) {
        codes.set(`${topic.name}\u0000${p.partitionIndex}`, p.errorCode);
      }
    }
  }
  return createOffsetCommitResponse({
    topics: request.topics.map((topic) =>
      createOffsetCommitResponseTopic({
        name: topic.name,
        partitions: topic.partitions.map((p) =>
          createOffsetCommitResponsePartition({
            partitionIndex: p.partitionIndex,
            errorCode: codes.get(`${topic.name}\u0000${p.partitionIndex}`) ??
              ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })
        ),
      })
    ),
  });
}

/** The v0-v7 shape of one group's offsets (OffsetFetchResponse's single-group constructor). */
function singleGroupResponse(
  version: number,
  input: OffsetFetchInput,
  result: OffsetFetchResult,
): OffsetFetchResponse {
  const failed = result.errorCode !== ErrorCode.NONE;
  if (version < 2 && failed) {
    // v0-v1 have no top-level error: put it on every requested partition.
    return createOffsetFetchResponse({
      topics: (input.topics ?? []).map((topic) =>
        createOffsetFetchResponseTopic({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) =>
            createOffsetFetchResponsePartition({
              partitionIndex,
              committedOffset: -1n,
              committedLeaderEpoch: -1,
              metadata: "",
              errorCode: result.errorCode,
            })
          ),
        })
      ),
    });
  }
  return createOffsetFetchResponse({
    errorCode: result.errorCode,
    topics: result.topics.map((topic) =>
      createOffsetFetchResponseTopic({
        name: topic.name,
        partitions: topic.partitions.map((p) =>
          createOffsetFetchResponsePartition({ ...p, committedOffset: BigInt(p.committedOffset) })
        ),
      })
    ),
  });
}

/**
 * OffsetFetch v0-v9: one group (v0-v7; v0 read ZooKeeper in Kafka and is served like v1 here) or
 * a batch of groups (v8+, KIP-709). Partitions without a committed offset answer -1 and no error.
 */
export function offsetFetch(
  service: GroupService,
  request: OffsetFetchRequest,
  context: Context,
): OffsetFetchResponse {
  const v = context.apiVersion;
  const requireStable = v >= 7 && request.requireStable;
  if (v < 8) {
    const input: OffsetFetchInput = {
      groupId: request.groupId,
      topics: request.topics === null ? null : request.topics.map((t) => ({
        name: t.name,
        partitionIndexes: t.partitionIndexes,
      })),
      requireStable,
    };
    return singleGroupResponse(v, input, service.offsetFetch(input));
  }
  return createOffsetFetchResponse({
    groups: request.groups.map((group) => {
      const result = service.offsetFetch({
        groupId: group.groupId,
        topics: group.topics === null ? null : group.topics.map((t) => ({
          name: t.name,
          partitionIndexes: t.partitionIndexes,
        })),
        requireStable,
      });
      return createOffsetFetchResponseGroup({
        groupId: result.groupId,
        errorCode: result.errorCode,
        topics: result.topics.map((topic) =>
          createOffsetFetchResponseTopics({
            name: topic.name,
            partitions: topic.partitions.map((p) =>
              createOffsetFetchResponsePartitions({
                ...p,
                committedOffset: BigInt(p.committedOffset),
              })
            ),
          })
        ),
      });
    }),
  });
}

/**
 * OffsetDelete v0 (KIP-496). Topics missing from the metadata image answer
 * UNKNOWN_TOPIC_OR_PARTITION unless the whole request fails at the group level.
 */
export async function offsetDelete(
  service: GroupService,
  request: OffsetDeleteRequest,
): Promise<OffsetDeleteResponse> {
  const known = request.topics.filter((t) => service.topicExists(t.name));
  const unknown = request.topics.filter((t) => !service.topicExists(t.name));
  const result = await service.offsetDelete({
    groupId: request.groupId,
    topics: known.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex })),
    })),
  });
  if (result.errorCode !== ErrorCode.NONE) {
    return createOffsetDeleteResponse({ errorCode: result.errorCode, topics: [] });
  }
  const topics = [
    ...result.topics,
    ...unknown.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      })),
    })),
  ];
  return createOffsetDeleteResponse({
    errorCode: ErrorCode.NONE,
    topics: topics.map((t) =>
      createOffsetDeleteResponseTopic({
        name: t.name,
        partitions: t.partitions.map((p) => createOffsetDeleteResponsePartition({ ...p })),
      })
    ),
  });
}

// ---------------------------------------------------------------- admin

/** ListGroups v0-v5: `statesFilter` from v4 (KIP-518), `typesFilter` from v5 (KIP-848). */
export function listGroups(
  service: GroupService,
  request: ListGroupsRequest,
  context: Context,
): ListGroupsResponse {
  const v = context.apiVersion;
  const result = service.listGroups({
    statesFilter: v >= 4 ? request.statesFilter : [],
    typesFilter: v >= 5 ? request.typesFilter : [],
  });
  return createListGroupsResponse({
    errorCode: result.errorCode,
    groups: result.groups.map((g) => createListedGroup({ ...g })),
  });
}

/** DescribeGroups v0-v5; authorized operations (v3+) when asked, with no authorizer. */
export function describeGroups(
  service: GroupService,
  request: DescribeGroupsRequest,
  context: Context,
): DescribeGroupsResponse {
  const withOperations = context.apiVersion >= 3 && request.includeAuthorizedOperations;
  return createDescribeGroupsResponse({
    groups: service.describeGroups(request.groups).map((g) =>
      createDescribedGroup({
        ...g,
        members: g.members.map((m) => createDescribedGroupMember({ ...m })),
        authorizedOperations: withOperations && g.errorCode === ErrorCode.NONE
          ? GROUP_AUTHORIZED_OPERATIONS
          : AUTHORIZED_OPERATIONS_OMITTED,
      })
    ),
  });
}

/** DeleteGroups v0-v2; duplicate names are answered once, as KafkaApis does. */
export async function deleteGroups(
  service: GroupService,
  request: DeleteGroupsRequest,
): Promise<DeleteGroupsResponse> {
  const result = await service.deleteGroups([...new Set(request.groupsNames)]);
  return createDeleteGroupsResponse({
    results: result.results.map((r) => createDeletableGroupResult({ ...r })),
  });
}

// ---------------------------------------------------------------- registration

function handler<Req, Res>(
  apiKey: number,
  handle: (request: Req, context: Context) => Promise<Res> | Res,
): ApiHandler<Req, Res> {
  const versions = GROUP_API_VERSIONS.get(apiKey)!;
  return { minVersion: versions.min, maxVersion: versions.max, handle };
}

/**
 * Registers every group API on `dispatcher`, with the versions of {@link GROUP_API_VERSIONS}.
 *
 * @example
 * ```ts ignore
 * registerGroupHandlers(dispatcher, groupManager);
 * ```
 */
export function registerGroupHandlers(dispatcher: Dispatcher, service: GroupService): void {
  const register = <Req, Res>(
    apiKey: number,
    handle: (request: Req, context: Context) => Promise<Res> | Res,
  ) => dispatcher.register<Req, Res>(apiKey, handler(apiKey, handle));
  register<JoinGroupRequest, JoinGroupResponse>(
    ApiKey.JOIN_GROUP,
    (r, c) => joinGroup(service, r, c),
  );
  register<SyncGroupRequest, SyncGroupResponse>(
    ApiKey.SYNC_GROUP,
    (r, c) => syncGroup(service, r, c),
  );
  register<HeartbeatRequest, HeartbeatResponse>(
    ApiKey.HEARTBEAT,
    (r, c) => heartbeat(service, r, c),
  );
  register<LeaveGroupRequest, LeaveGroupResponse>(
    ApiKey.LEAVE_GROUP,
    (r, c) => leaveGroup(service, r, c),
  );
  register<OffsetCommitRequest, OffsetCommitResponse>(
    ApiKey.OFFSET_COMMIT,
    (r, c) => offsetCommit(service, r, c),
  );
  register<OffsetFetchRequest, OffsetFetchResponse>(
    ApiKey.OFFSET_FETCH,
    (r, c) => offsetFetch(service, r, c),
  );
  register<OffsetDeleteRequest, OffsetDeleteResponse>(
    ApiKey.OFFSET_DELETE,
    (r) => offsetDelete(service, r),
  );
  register<ListGroupsRequest, ListGroupsResponse>(
    ApiKey.LIST_GROUPS,
    (r, c) => listGroups(service, r, c),
  );
  register<DescribeGroupsRequest, DescribeGroupsResponse>(
    ApiKey.DESCRIBE_GROUPS,
    (r, c) => describeGroups(service, r, c),
  );
  register<DeleteGroupsRequest, DeleteGroupsResponse>(
    ApiKey.DELETE_GROUPS,
    (r) => deleteGroups(service, r),
  );
}
