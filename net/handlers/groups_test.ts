// Per-version shaping of the group APIs, checked on the wire through the dispatcher against
// Kafka 3.9: KafkaApis.handleOffsetCommitRequest (UNKNOWN_TOPIC_OR_PARTITION for topics not in
// the metadata cache), OffsetFetchResponse (v0-v1 group errors on every partition, v8+ groups,
// KIP-709), JoinGroupResponse (protocol name "" before v7), DeleteGroups (distinct names),
// ListGroups (KIP-518 states v4+, KIP-848 types v5+), DescribeGroups authorized operations (v3+)
// and FindCoordinator (KIP-699 batching v4+).
import assert from "node:assert/strict";
import { Dispatcher } from "../dispatcher.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { createRequestHeader, readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { createJoinGroupRequest } from "../protocol/generated/join_group_request.ts";
import type { JoinGroupResponse } from "../protocol/generated/join_group_response.ts";
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
} from "../protocol/generated/offset_commit_request.ts";
import type { OffsetCommitResponse } from "../protocol/generated/offset_commit_response.ts";
import {
  createOffsetFetchRequest,
  createOffsetFetchRequestGroup,
  createOffsetFetchRequestTopic,
} from "../protocol/generated/offset_fetch_request.ts";
import type { OffsetFetchResponse } from "../protocol/generated/offset_fetch_response.ts";
import type { DeleteGroupsResponse } from "../protocol/generated/delete_groups_response.ts";
import type { ListGroupsResponse } from "../protocol/generated/list_groups_response.ts";
import type { DescribeGroupsResponse } from "../protocol/generated/describe_groups_response.ts";
import {
  createLeaveGroupRequest,
  createMemberIdentity,
} from "../protocol/generated/leave_group_request.ts";
import type { LeaveGroupResponse } from "../protocol/generated/leave_group_response.ts";
import { createFindCoordinatorRequest } from "../protocol/generated/find_coordinator_request.ts";
import type { FindCoordinatorResponse } from "../protocol/generated/find_coordinator_response.ts";
import {
  createOffsetDeleteRequest,
  createOffsetDeleteRequestPartition,
  createOffsetDeleteRequestTopic,
} from "../protocol/generated/offset_delete_request.ts";
import type { OffsetDeleteResponse } from "../protocol/generated/offset_delete_response.ts";
import { silentLogger } from "../../core/log.ts";
import type {
  JoinGroupInput,
  LeaveGroupInput,
  ListGroupsInput,
  OffsetCommitInput,
  OffsetFetchInput,
} from "../../core/group/types.ts";
import { GROUP_API_VERSIONS, registerGroupHandlers } from "./groups.ts";
import { FIND_COORDINATOR_VERSIONS, registerFindCoordinator } from "./find_coordinator.ts";
import type { CoordinatorLocation, GroupService } from "./group_service.ts";

/** A GroupService that records what it was asked and answers from settable fields. */
class FakeGroupService implements GroupService {
  joins: JoinGroupInput[] = [];
  commits: OffsetCommitInput[] = [];
  fetches: OffsetFetchInput[] = [];
  leaves: LeaveGroupInput[] = [];
  lists: ListGroupsInput[] = [];
  deletes: string[][] = [];
  groupError: number = ErrorCode.NONE;
  topics = new Set(["orders"]);

  findCoordinator(keyType: number, key: string): CoordinatorLocation {
    if (keyType !== 0 || key === "lost") {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: null,
        nodeId: -1,
        host: "",
        port: -1,
      };
    }
    return { errorCode: 0, errorMessage: null, nodeId: 1, host: "h", port: 9092 };
  }
  topicExists(name: string): boolean {
    return this.topics.has(name);
  }
  joinGroup(input: JoinGroupInput) {
    this.joins.push(input);
    return Promise.resolve({
      errorCode: this.groupError,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: "",
      skipAssignment: false,
      memberId: input.memberId,
      members: [],
    });
  }
  syncGroup() {
    return Promise.resolve({
      errorCode: this.groupError,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(),
    });
  }
  heartbeat() {
    return { errorCode: this.groupError };
  }
  leaveGroup(input: LeaveGroupInput) {
    this.leaves.push(input);
    return Promise.resolve({
      errorCode: this.groupError,
      members: input.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      })),
    });
  }
  offsetCommit(input: OffsetCommitInput) {
    this.commits.push(input);
    return Promise.resolve({
      topics: input.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: this.groupError,
        })),
      })),
    });
  }
  offsetFetch(input: OffsetFetchInput) {
    this.fetches.push(input);
    if (this.groupError !== ErrorCode.NONE) {
      return { groupId: input.groupId, errorCode: this.groupError, topics: [] };
    }
    return {
      groupId: input.groupId,
      errorCode: ErrorCode.NONE,
      topics: (input.topics ?? [{ name: "orders", partitionIndexes: [0] }]).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: 10 + partitionIndex,
          committedLeaderEpoch: -1,
          metadata: "",
          errorCode: ErrorCode.NONE,
        })),
      })),
    };
  }
  offsetDelete() {
    return Promise.resolve({
      errorCode: this.groupError,
      topics: [{ name: "orders", partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    });
  }
  listGroups(input: ListGroupsInput) {
    this.lists.push(input);
    return {
      errorCode: ErrorCode.NONE,
      groups: [{
        groupId: "g",
        protocolType: "consumer",
        groupState: "Stable",
        groupType: "classic",
      }],
    };
  }
  describeGroups(groupIds: string[]) {
    return groupIds.map((groupId) => ({
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: "Empty",
      protocolType: "consumer",
      protocolData: "",
      members: [],
    }));
  }
  deleteGroups(groupIds: string[]) {
    this.deletes.push(groupIds);
    return Promise.resolve({ results: groupIds.map((groupId) => ({ groupId, errorCode: 0 })) });
  }
}

function setup(): { service: FakeGroupService; dispatcher: Dispatcher } {
  const service = new FakeGroupService();
  const dispatcher = new Dispatcher({ logger: silentLogger });
  registerGroupHandlers(dispatcher, service);
  registerFindCoordinator(dispatcher, service);
  return { service, dispatcher };
}

/** Encodes `body` as a request frame at `version`, dispatches it and decodes the response. */
async function roundTrip<Res>(
  dispatcher: Dispatcher,
  apiKey: number,
  version: number,
  body: unknown,
): Promise<Res> {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer();
  writeRequestHeader(
    w,
    createRequestHeader({
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId: 9,
      clientId: "test",
    }),
  );
  api.writeRequest(w, version, body as never);
  const frame = await dispatcher.handleFrame(w.finish(), {
    listenerName: "PLAINTEXT",
    clientHost: "/127.0.0.1",
    connectionId: 1,
  });
  const r = new Reader(frame!.subarray(4));
  assert.equal(readResponseHeader(r, apiKey, version).correlationId, 9);
  return api.readResponse(r, version) as Res;
}

Deno.test("every served version of every group api encodes both ways, errors included", async () => {
  const { service, dispatcher } = setup();
  for (const groupError of [ErrorCode.NONE, ErrorCode.NOT_COORDINATOR]) {
    service.groupError = groupError;
    for (
      const [apiKey, { min, max }] of [
        ...GROUP_API_VERSIONS,
        [ApiKey.FIND_COORDINATOR, FIND_COORDINATOR_VERSIONS] as const,
      ]
    ) {
      for (let version = min; version <= max; version++) {
        const request = API_TABLE.get(apiKey)!.createRequest();
        await roundTrip(dispatcher, apiKey, version, request);
      }
    }
  }
});

Deno.test("JoinGroup answers a null protocol name as an empty string before v7", async () => {
  const { service, dispatcher } = setup();
  service.groupError = ErrorCode.UNKNOWN_MEMBER_ID;
  const request = createJoinGroupRequest({ groupId: "g", memberId: "m", sessionTimeoutMs: 6000 });
  const v6 = await roundTrip<JoinGroupResponse>(dispatcher, ApiKey.JOIN_GROUP, 6, request);
  assert.equal(v6.protocolName, "");
  const v7 = await roundTrip<JoinGroupResponse>(dispatcher, ApiKey.JOIN_GROUP, 7, request);
  assert.equal(v7.protocolName, null);
  assert.deepEqual([service.joins[0]!.clientId, service.joins[0]!.clientHost], [
    "test",
    "/127.0.0.1",
  ]);
  await roundTrip<JoinGroupResponse>(dispatcher, ApiKey.JOIN_GROUP, 0, request);
  assert.equal(service.joins.at(-1)!.rebalanceTimeoutMs, -1, "v0 has no rebalance timeout");
});

Deno.test("OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION for topics that do not exist", async () => {
  const { service, dispatcher } = setup();
  const request = (
    version: number,
    partition: Partial<ReturnType<typeof createOffsetCommitRequestPartition>> = {},
  ) =>
    createOffsetCommitRequest({
      groupId: "g",
      generationIdOrMemberEpoch: version >= 1 ? 3 : -1,
      memberId: version >= 1 ? "m" : "",
      retentionTimeMs: version >= 2 && version <= 4 ? 60_000n : -1n,
      topics: [
        createOffsetCommitRequestTopic({
          name: "orders",
          partitions: [createOffsetCommitRequestPartition({
            partitionIndex: 0,
            committedOffset: 5n,
            ...partition,
          })],
        }),
        createOffsetCommitRequestTopic({
          name: "nope",
          partitions: [createOffsetCommitRequestPartition({ partitionIndex: 1 })],
        }),
      ],
    });
  const v2 = await roundTrip<OffsetCommitResponse>(
    dispatcher,
    ApiKey.OFFSET_COMMIT,
    2,
    request(2),
  );
  assert.deepEqual(
    v2.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
    [["orders", [[0, 0]]], ["nope", [[1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]],
  );
  assert.deepEqual(service.commits[0]!.topics.map((t) => t.name), ["orders"]);
  assert.equal(service.commits[0]!.retentionTimeMs, 60_000, "v2-v4 carry a retention time");
  assert.equal(service.commits[0]!.topics[0]!.partitions[0]!.commitTimestamp, undefined);

  await roundTrip(dispatcher, ApiKey.OFFSET_COMMIT, 1, request(1, { commitTimestamp: 1234n }));
  assert.equal(service.commits[1]!.topics[0]!.partitions[0]!.commitTimestamp, 1234, "v1 only");
  assert.equal(service.commits[1]!.retentionTimeMs, -1);
  await roundTrip(dispatcher, ApiKey.OFFSET_COMMIT, 0, request(0));
  assert.deepEqual(
    [service.commits[2]!.generationIdOrMemberEpoch, service.commits[2]!.memberId],
    [-1, ""],
    "v0 commits carry no generation",
  );
  await roundTrip(
    dispatcher,
    ApiKey.OFFSET_COMMIT,
    7,
    createOffsetCommitRequest({
      groupId: "g",
      topics: [createOffsetCommitRequestTopic({
        name: "nope",
        partitions: [createOffsetCommitRequestPartition({ partitionIndex: 0 })],
      })],
    }),
  );
  assert.equal(service.commits.length, 3, "nothing reaches the coordinator when no topic exists");
});

Deno.test("OffsetCommit answers INVALID_REQUEST for offsets beyond 2^53 and commits the rest", async () => {
  const { service, dispatcher } = setup();
  const commit = async (
    version: number,
    partitions: Partial<ReturnType<typeof createOffsetCommitRequestPartition>>[],
  ) =>
    (await roundTrip<OffsetCommitResponse>(
      dispatcher,
      ApiKey.OFFSET_COMMIT,
      version,
      createOffsetCommitRequest({
        groupId: "g",
        generationIdOrMemberEpoch: 3,
        memberId: "m",
        topics: [createOffsetCommitRequestTopic({
          name: "orders",
          partitions: partitions.map((p, partitionIndex) =>
            createOffsetCommitRequestPartition({ partitionIndex, ...p })
          ),
        })],
      }),
    )).topics[0]!.partitions.map((p) => p.errorCode);
  assert.deepEqual(
    await commit(8, [
      { committedOffset: 7n },
      // Long.MAX_VALUE was stored as 2^63 and its append failed with an encoding error.
      { committedOffset: 9223372036854775807n },
      { committedOffset: BigInt(Number.MAX_SAFE_INTEGER) + 2n },
    ]),
    [0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
  );
  assert.deepEqual(
    service.commits[0]!.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
    [[0, 7]],
  );
  // v1's commit timestamp is kept as a number too.
  assert.deepEqual(
    await commit(1, [{ committedOffset: 7n, commitTimestamp: 9223372036854775807n }]),
    [ErrorCode.INVALID_REQUEST],
  );
  assert.equal(service.commits.length, 1);
});

Deno.test("OffsetFetch puts a group error on each partition before v2, at the top from v2", async () => {
  const { service, dispatcher } = setup();
  service.groupError = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  const request = createOffsetFetchRequest({
    groupId: "g",
    topics: [createOffsetFetchRequestTopic({ name: "orders", partitionIndexes: [0, 1] })],
  });
  const v1 = await roundTrip<OffsetFetchResponse>(dispatcher, ApiKey.OFFSET_FETCH, 1, request);
  assert.deepEqual(
    v1.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
    [[0, -1n, 14], [1, -1n, 14]],
  );
  const v2 = await roundTrip<OffsetFetchResponse>(dispatcher, ApiKey.OFFSET_FETCH, 2, request);
  assert.deepEqual([v2.errorCode, v2.topics.length], [14, 0]);

  service.groupError = ErrorCode.NONE;
  const v7 = await roundTrip<OffsetFetchResponse>(
    dispatcher,
    ApiKey.OFFSET_FETCH,
    7,
    createOffsetFetchRequest({ groupId: "g", topics: null, requireStable: true }),
  );
  assert.equal(v7.topics[0]!.partitions[0]!.committedOffset, 10n);
  assert.equal(service.fetches.at(-1)!.requireStable, true);
  const v8 = await roundTrip<OffsetFetchResponse>(
    dispatcher,
    ApiKey.OFFSET_FETCH,
    8,
    createOffsetFetchRequest({
      groups: [
        createOffsetFetchRequestGroup({ groupId: "a", topics: null }),
        createOffsetFetchRequestGroup({ groupId: "b", topics: null }),
      ],
    }),
  );
  assert.deepEqual(v8.groups.map((g) => g.groupId), ["a", "b"]);
});

Deno.test("OffsetDelete answers UNKNOWN_TOPIC_OR_PARTITION for topics that do not exist", async () => {
  const { dispatcher } = setup();
  const response = await roundTrip<OffsetDeleteResponse>(
    dispatcher,
    ApiKey.OFFSET_DELETE,
    0,
    createOffsetDeleteRequest({
      groupId: "g",
      topics: [
        createOffsetDeleteRequestTopic({
          name: "orders",
          partitions: [createOffsetDeleteRequestPartition({ partitionIndex: 0 })],
        }),
        createOffsetDeleteRequestTopic({
          name: "nope",
          partitions: [createOffsetDeleteRequestPartition({ partitionIndex: 2 })],
        }),
      ],
    }),
  );
  assert.deepEqual(
    response.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
    [["orders", [[0, 0]]], ["nope", [[2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]],
  );
});

Deno.test("LeaveGroup takes one member id before v3 and a batch of identities from v3", async () => {
  const { service, dispatcher } = setup();
  await roundTrip(
    dispatcher,
    ApiKey.LEAVE_GROUP,
    2,
    createLeaveGroupRequest({ groupId: "g", memberId: "m0" }),
  );
  assert.deepEqual([service.leaves[0]!.memberId, service.leaves[0]!.members], ["m0", []]);
  const v5 = await roundTrip<LeaveGroupResponse>(
    dispatcher,
    ApiKey.LEAVE_GROUP,
    5,
    createLeaveGroupRequest({
      groupId: "g",
      members: [createMemberIdentity({ memberId: "m1", groupInstanceId: "i1", reason: "bye" })],
    }),
  );
  assert.deepEqual(service.leaves[1]!.members, [
    { memberId: "m1", groupInstanceId: "i1", reason: "bye" },
  ]);
  assert.deepEqual(v5.members.map((m) => [m.memberId, m.groupInstanceId, m.errorCode]), [
    ["m1", "i1", ErrorCode.UNKNOWN_MEMBER_ID],
  ]);
});

Deno.test("DeleteGroups answers each distinct group once", async () => {
  const { service, dispatcher } = setup();
  const response = await roundTrip<DeleteGroupsResponse>(
    dispatcher,
    ApiKey.DELETE_GROUPS,
    2,
    { groupsNames: ["a", "b", "a"], _unknownTaggedFields: [] },
  );
  assert.deepEqual(service.deletes, [["a", "b"]]);
  assert.deepEqual(response.results.map((r) => r.groupId), ["a", "b"]);
});

Deno.test("ListGroups filters by state from v4 and by type from v5", async () => {
  const { service, dispatcher } = setup();
  const body = (statesFilter: string[], typesFilter: string[]) => ({
    statesFilter,
    typesFilter,
    _unknownTaggedFields: [],
  });
  await roundTrip(dispatcher, ApiKey.LIST_GROUPS, 3, body([], []));
  const v4 = await roundTrip<ListGroupsResponse>(
    dispatcher,
    ApiKey.LIST_GROUPS,
    4,
    body(["Stable"], []),
  );
  const v5 = await roundTrip<ListGroupsResponse>(
    dispatcher,
    ApiKey.LIST_GROUPS,
    5,
    body(["Stable"], ["classic"]),
  );
  assert.deepEqual(service.lists, [
    { statesFilter: [], typesFilter: [] },
    { statesFilter: ["Stable"], typesFilter: [] },
    { statesFilter: ["Stable"], typesFilter: ["classic"] },
  ]);
  assert.equal(v4.groups[0]!.groupState, "Stable");
  assert.equal(v5.groups[0]!.groupType, "classic");
});

Deno.test("DescribeGroups reports authorized operations only when asked (v3+)", async () => {
  const { dispatcher } = setup();
  const asked = await roundTrip<DescribeGroupsResponse>(
    dispatcher,
    ApiKey.DESCRIBE_GROUPS,
    5,
    { groups: ["g"], includeAuthorizedOperations: true, _unknownTaggedFields: [] },
  );
  assert.equal(asked.groups[0]!.authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));
  const notAsked = await roundTrip<DescribeGroupsResponse>(
    dispatcher,
    ApiKey.DESCRIBE_GROUPS,
    5,
    { groups: ["g"], includeAuthorizedOperations: false, _unknownTaggedFields: [] },
  );
  assert.equal(notAsked.groups[0]!.authorizedOperations, -2147483648);
});

Deno.test("FindCoordinator answers in the top-level fields before v4 and per key from v4", async () => {
  // KIP-699; v0-v3 errors carry Kafka's Node.noNode() and the error's default message.
  const { dispatcher } = setup();
  const ok = await roundTrip<FindCoordinatorResponse>(
    dispatcher,
    ApiKey.FIND_COORDINATOR,
    3,
    createFindCoordinatorRequest({ key: "g" }),
  );
  assert.deepEqual([ok.errorCode, ok.errorMessage, ok.nodeId, ok.host, ok.port], [
    0,
    "NONE",
    1,
    "h",
    9092,
  ]);
  const lost = await roundTrip<FindCoordinatorResponse>(
    dispatcher,
    ApiKey.FIND_COORDINATOR,
    1,
    createFindCoordinatorRequest({ key: "lost" }),
  );
  assert.deepEqual([lost.errorCode, lost.errorMessage, lost.nodeId, lost.host, lost.port], [
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    "The coordinator is not available.",
    -1,
    "",
    -1,
  ]);
  const batched = await roundTrip<FindCoordinatorResponse>(
    dispatcher,
    ApiKey.FIND_COORDINATOR,
    4,
    createFindCoordinatorRequest({ coordinatorKeys: ["g", "lost"] }),
  );
  assert.deepEqual(
    batched.coordinators.map((c) => [c.key, c.errorCode, c.nodeId]),
    [["g", 0, 1], ["lost", ErrorCode.COORDINATOR_NOT_AVAILABLE, -1]],
  );
});
