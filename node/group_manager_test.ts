// GroupManager through the wire handlers: Kafka 3.9 KafkaApis.getCoordinator (FindCoordinator,
// KIP-699 batching, __consumer_offsets auto-creation), GroupMetadataManager loading
// (COORDINATOR_LOAD_IN_PROGRESS) and emigration (NOT_COORDINATOR), and the classic group protocol
// (KIP-394 member id required) end to end over an in-memory __consumer_offsets.
import assert from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import { SeededRandom } from "../core/random.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  RecordType,
} from "../core/metadata/records.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../net/protocol/generated/register_broker_record.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import { createPartitionRecord } from "../net/protocol/generated/partition_record.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { createFindCoordinatorRequest } from "../net/protocol/generated/find_coordinator_request.ts";
import {
  createJoinGroupRequest,
  createJoinGroupRequestProtocol,
} from "../net/protocol/generated/join_group_request.ts";
import {
  createSyncGroupRequest,
  createSyncGroupRequestAssignment,
} from "../net/protocol/generated/sync_group_request.ts";
import { createHeartbeatRequest } from "../net/protocol/generated/heartbeat_request.ts";
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
} from "../net/protocol/generated/offset_commit_request.ts";
import {
  createOffsetFetchRequest,
  createOffsetFetchRequestGroup,
  createOffsetFetchRequestTopic,
  createOffsetFetchRequestTopics,
} from "../net/protocol/generated/offset_fetch_request.ts";
import { createListGroupsRequest } from "../net/protocol/generated/list_groups_request.ts";
import { createDescribeGroupsRequest } from "../net/protocol/generated/describe_groups_request.ts";
import { createDeleteGroupsRequest } from "../net/protocol/generated/delete_groups_request.ts";
import { createLeaveGroupRequest } from "../net/protocol/generated/leave_group_request.ts";
import { Dispatcher } from "../net/dispatcher.ts";
import { findCoordinator } from "../net/handlers/find_coordinator.ts";
import {
  deleteGroups,
  describeGroups,
  heartbeat,
  joinGroup,
  leaveGroup,
  listGroups,
  offsetCommit,
  offsetFetch,
  syncGroup,
} from "../net/handlers/groups.ts";
import type { JoinGroupResponse } from "../net/protocol/generated/join_group_response.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import { encodeMetadataRecord, MetadataState } from "./metadata_state.ts";
import {
  GroupManager,
  javaStringHashCode,
  OFFSETS_TOPIC,
  partitionForGroup,
} from "./group_manager.ts";
import { MemoryGroupLogStore } from "./group_memory_log_store.ts";

const OFFSETS_ID = "AAAAAAAAAAAAAAAAAAAAAQ";
const ORDERS_ID = "q1Sh-9_ISia_fV4lGz8fqw";
const PARTITIONS = 3;

// ---------------------------------------------------------------- fixtures

function topicRecords(name: string, topicId: string, count: number, leader: number) {
  return [
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name, topicId })),
    ...Array.from({ length: count }, (_, partitionId) =>
      makeRecord(
        RecordType.PARTITION,
        0,
        createPartitionRecord({ topicId, partitionId, replicas: [leader], isr: [leader], leader }),
      )),
  ];
}

function brokerRecord(id: number): MetadataRecord {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    1,
    createRegisterBrokerRecord({
      brokerId: id,
      brokerEpoch: 10n,
      incarnationId: "AAAAAAAAAAAAAAAAAAAAAg",
      endPoints: [
        createBrokerEndpoint({ name: "PLAINTEXT", host: `broker${id}`, port: 9092 }),
        createBrokerEndpoint({ name: "INTERNAL", host: `internal${id}`, port: 19092 }),
      ],
      fenced: false,
    }),
  );
}

class Harness {
  readonly metadata = new MetadataState(silentLogger);
  readonly store = new MemoryGroupLogStore();
  readonly createTopicsCalls: Record<string, unknown>[] = [];
  nowMs = 1_000_000;
  #offset = 0;
  readonly ctx: BrokerContext;

  constructor(options: { offsetsTopic?: boolean } = {}) {
    const config = parseServerConfig(
      new Map([
        ["process.roles", "broker,controller"],
        ["node.id", "1"],
        ["controller.quorum.voters", "1@localhost:9093"],
        ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
        ["controller.listener.names", "CONTROLLER"],
        ["offsets.topic.num.partitions", String(PARTITIONS)],
        ["offsets.topic.replication.factor", "3"],
        ["group.initial.rebalance.delay.ms", "3000"],
      ]),
    ).config;
    const controller = {
      send: (apiKey: number, body: Record<string, unknown>) => {
        assert.equal(apiKey, ApiKey.CREATE_TOPICS);
        this.createTopicsCalls.push(body);
        return Promise.resolve({
          throttleTimeMs: 0,
          topics: [{ name: OFFSETS_TOPIC, errorCode: 0 }],
        });
      },
    } as unknown as ControllerChannel;
    this.ctx = {
      config,
      logger: silentLogger,
      nodeId: 1,
      clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
      metadata: this.metadata,
      controller,
      brokerEpoch: () => 10n,
    };
    this.apply([
      makeRecord(
        RecordType.FEATURE_LEVEL,
        0,
        createFeatureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: 21 }),
      ),
      brokerRecord(1),
      brokerRecord(2),
      ...topicRecords("orders", ORDERS_ID, 2, 1),
    ]);
    if (options.offsetsTopic ?? true) this.createOffsetsTopic();
  }

  apply(records: MetadataRecord[]): void {
    this.metadata.applyEntries(records.map((r) => ({
      offset: this.#offset++,
      epoch: 1,
      payload: encodeMetadataRecord(r),
    })));
  }

  /** What the controller would do for CreateTopics: every partition led by broker 1. */
  createOffsetsTopic(): void {
    this.apply(topicRecords(OFFSETS_TOPIC, OFFSETS_ID, PARTITIONS, 1));
  }

  manager(): GroupManager {
    return new GroupManager(this.ctx, this.store, {
      nowMs: () => this.nowMs,
      random: new SeededRandom(7),
    });
  }

  leadAll(isLeader: boolean): void {
    for (let p = 0; p < PARTITIONS; p++) this.store.setLeader(p, isLeader);
  }
}

/** Waits (bounded) until every led partition has loaded. */
async function loaded(manager: GroupManager): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ([...manager.partitionStates().values()].every((s) => s === "active")) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.fail("The group coordinators did not load within 100 turns.");
}

const ctx = (apiVersion: number, clientId = "client") => ({
  apiVersion,
  header: { clientId },
  clientHost: "/127.0.0.1",
  listenerName: "PLAINTEXT",
});

const PROTOCOL_METADATA = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115]);

function joinRequest(groupId: string, memberId: string) {
  return createJoinGroupRequest({
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId,
    protocolType: "consumer",
    protocols: [createJoinGroupRequestProtocol({ name: "range", metadata: PROTOCOL_METADATA })],
  });
}

/** Moves the fake clock in 1 s steps (bounded), ticking, until `promise` settles. */
async function advanceUntil<T>(h: Harness, manager: GroupManager, promise: Promise<T>): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => settled = true);
  for (let step = 0; step < 60 && !settled; step++) {
    h.nowMs += 1_000;
    manager.tick();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.ok(settled, "The request did not complete within 60 simulated seconds.");
  return watched;
}

/** JoinGroup v5 twice (KIP-394): the first answer hands out the member id. */
async function joinWithId(
  manager: GroupManager,
  groupId: string,
  clientId: string,
): Promise<{ memberId: string; joined: Promise<JoinGroupResponse> }> {
  const first = await joinGroup(manager, joinRequest(groupId, ""), ctx(5, clientId));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.ok(first.memberId.startsWith(`${clientId}-`));
  return {
    memberId: first.memberId,
    joined: joinGroup(manager, joinRequest(groupId, first.memberId), ctx(5, clientId)),
  };
}

/** Two members join, the leader assigns, both sync: a Stable generation 1. */
async function stableGroup(h: Harness, manager: GroupManager, groupId: string) {
  const a = await joinWithId(manager, groupId, "a");
  const b = await joinWithId(manager, groupId, "b");
  // group.initial.rebalance.delay.ms, extended once because b joined during the delay.
  const [joinA, joinB] = await advanceUntil(h, manager, Promise.all([a.joined, b.joined]));
  assert.equal(joinA.errorCode, ErrorCode.NONE);
  assert.equal(joinB.errorCode, ErrorCode.NONE);
  assert.equal(joinA.generationId, 1);
  assert.equal(joinA.leader, joinB.leader);
  const leader = joinA.leader === a.memberId ? a : b;
  const follower = leader === a ? b : a;
  assert.equal((leader === a ? joinA : joinB).members.length, 2);
  assert.equal((leader === a ? joinB : joinA).members.length, 0);

  const assignment = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115]);
  const followerSync = syncGroup(
    manager,
    createSyncGroupRequest({ groupId, generationId: 1, memberId: follower.memberId }),
    ctx(3),
  );
  const leaderSync = syncGroup(
    manager,
    createSyncGroupRequest({
      groupId,
      generationId: 1,
      memberId: leader.memberId,
      assignments: [
        createSyncGroupRequestAssignment({ memberId: follower.memberId, assignment }),
        createSyncGroupRequestAssignment({ memberId: leader.memberId, assignment }),
      ],
    }),
    ctx(3),
  );
  const [syncF, syncL] = await Promise.all([followerSync, leaderSync]);
  assert.equal(syncF.errorCode, ErrorCode.NONE);
  assert.equal(syncL.errorCode, ErrorCode.NONE);
  assert.deepEqual(syncF.assignment, assignment);
  return { leader: leader.memberId, follower: follower.memberId };
}

// ---------------------------------------------------------------- partitioning

Deno.test("group ids map to partitions with Java's String.hashCode and Utils.abs", () => {
  assert.equal(javaStringHashCode("hello"), 99162322);
  assert.equal(javaStringHashCode(""), 0);
  assert.equal(javaStringHashCode("\u00e9t\u00e9"), 227742);
  assert.equal(javaStringHashCode("\u{1F600}"), 1772899); // UTF-16 code units, not code points
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE, which Utils.abs maps to 0.
  assert.equal(javaStringHashCode("polygenelubricants"), -2147483648);
  assert.equal(partitionForGroup("polygenelubricants", 50), 0);
  assert.equal(partitionForGroup("hello", 50), 99162322 % 50);
  assert.equal(partitionForGroup("", 50), 0);
});

// ---------------------------------------------------------------- FindCoordinator

Deno.test("FindCoordinator creates __consumer_offsets once and answers once it is loaded", async () => {
  const h = new Harness({ offsetsTopic: false });
  const manager = h.manager();
  manager.start();
  try {
    const request = createFindCoordinatorRequest({ key: "g", keyType: 0 });
    // offsets.topic.replication.factor is 3 and 2 brokers are live: Kafka waits for a third.
    assert.equal(
      findCoordinator(manager, request, ctx(3)).errorCode,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    await manager.offsetsTopicCreation();
    assert.equal(h.createTopicsCalls.length, 0, "never created with fewer replicas than asked");
    h.apply([brokerRecord(3)]);
    const [first, second] = [
      findCoordinator(manager, request, ctx(3)),
      findCoordinator(manager, request, ctx(3)),
    ];
    assert.equal(first.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(second.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(first.nodeId, -1);
    await manager.offsetsTopicCreation();
    assert.equal(h.createTopicsCalls.length, 1, "concurrent requests share one creation");
    const topic = (h.createTopicsCalls[0]!.topics as {
      name: string;
      numPartitions: number;
      replicationFactor: number;
      configs: { name: string; value: string }[];
    }[])[0]!;
    assert.equal(topic.name, OFFSETS_TOPIC);
    assert.equal(topic.numPartitions, PARTITIONS);
    assert.equal(topic.replicationFactor, 3, "offsets.topic.replication.factor");
    assert.deepEqual(
      Object.fromEntries(topic.configs.map((c) => [c.name, c.value])),
      { "cleanup.policy": "compact", "compression.type": "producer", "segment.bytes": "104857600" },
    );

    // The topic exists but this broker has not loaded its partition yet.
    h.createOffsetsTopic();
    assert.equal(
      findCoordinator(manager, request, ctx(3)).errorCode,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    h.leadAll(true);
    await loaded(manager);
    const found = findCoordinator(manager, request, ctx(3));
    assert.deepEqual(
      [found.errorCode, found.errorMessage, found.nodeId, found.host, found.port],
      [ErrorCode.NONE, "NONE", 1, "broker1", 9092],
    );
    assert.equal(h.createTopicsCalls.length, 1);
  } finally {
    manager.close();
  }
});

Deno.test("FindCoordinator answers the endpoint of the listener the request came in on", async () => {
  const h = new Harness();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const request = createFindCoordinatorRequest({ key: "g" });
    const internal = findCoordinator(manager, request, { apiVersion: 2, listenerName: "INTERNAL" });
    assert.deepEqual([internal.host, internal.port], ["internal1", 19092]);
    const unknown = findCoordinator(manager, request, { apiVersion: 2, listenerName: "OTHER" });
    assert.deepEqual([unknown.host, unknown.port], ["broker1", 9092], "falls back to the first");
  } finally {
    manager.close();
  }
});

Deno.test("FindCoordinator v4 answers every batched key; transaction keys name this broker", async () => {
  // KIP-699
  const h = new Harness();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const groups = findCoordinator(
      manager,
      createFindCoordinatorRequest({ keyType: 0, coordinatorKeys: ["a", "b", "c"] }),
      ctx(4),
    );
    assert.deepEqual(
      groups.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port]),
      [["a", 0, 1, "broker1", 9092], ["b", 0, 1, "broker1", 9092], ["c", 0, 1, "broker1", 9092]],
    );
    const txn = findCoordinator(
      manager,
      createFindCoordinatorRequest({ keyType: 1, coordinatorKeys: ["t1"] }),
      ctx(5),
    );
    // There is no transaction coordinator: the client's InitProducerId comes here and is refused
    // with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (see net/handlers/init_producer_id.ts).
    assert.deepEqual(
      txn.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port]),
      [["t1", 0, 1, "broker1", 9092]],
    );
    const legacyTxn = findCoordinator(
      manager,
      createFindCoordinatorRequest({ keyType: 1, key: "t1" }),
      ctx(1),
    );
    assert.deepEqual(
      [legacyTxn.errorCode, legacyTxn.nodeId, legacyTxn.host, legacyTxn.port],
      [0, 1, "broker1", 9092],
    );
  } finally {
    manager.close();
  }
});

// ---------------------------------------------------------------- membership and offsets

Deno.test("two members join, sync and heartbeat through the handlers", async () => {
  const h = new Harness();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const { leader, follower } = await stableGroup(h, manager, "orders-app");
    for (const memberId of [leader, follower]) {
      const beat = heartbeat(
        manager,
        createHeartbeatRequest({ groupId: "orders-app", generationId: 1, memberId }),
        ctx(4),
      );
      assert.equal(beat.errorCode, ErrorCode.NONE);
    }
    const stale = heartbeat(
      manager,
      createHeartbeatRequest({ groupId: "orders-app", generationId: 0, memberId: leader }),
      ctx(4),
    );
    assert.equal(stale.errorCode, ErrorCode.ILLEGAL_GENERATION);

    const described = describeGroups(
      manager,
      createDescribeGroupsRequest({ groups: ["orders-app", "nobody"] }),
      ctx(5),
    );
    assert.deepEqual(
      described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.members.length]),
      [["orders-app", 0, "Stable", 2], ["nobody", 0, "Dead", 0]],
    );
    const listed = listGroups(manager, createListGroupsRequest({}), ctx(4));
    assert.deepEqual(
      listed.groups.map((g) => [g.groupId, g.protocolType, g.groupState]),
      [["orders-app", "consumer", "Stable"]],
    );

    // The leader leaves: the follower is told to rejoin.
    const left = await leaveGroup(
      manager,
      createLeaveGroupRequest({ groupId: "orders-app", memberId: leader }),
      ctx(2),
    );
    assert.equal(left.errorCode, ErrorCode.NONE);
    const rejoin = heartbeat(
      manager,
      createHeartbeatRequest({ groupId: "orders-app", generationId: 1, memberId: follower }),
      ctx(4),
    );
    assert.equal(rejoin.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.ok(h.store.endOffset(manager.partitionFor("orders-app")) > 0, "state was persisted");
  } finally {
    manager.close();
  }
});

Deno.test("committed offsets survive a restart on the same log", async () => {
  const h = new Harness();
  const first = h.manager();
  first.start();
  h.leadAll(true);
  await loaded(first);
  let leader: string;
  try {
    ({ leader } = await stableGroup(h, first, "g1"));
    const commit = await offsetCommit(
      first,
      createOffsetCommitRequest({
        groupId: "g1",
        generationIdOrMemberEpoch: 1,
        memberId: leader,
        topics: [
          createOffsetCommitRequestTopic({
            name: "orders",
            partitions: [
              createOffsetCommitRequestPartition({
                partitionIndex: 0,
                committedOffset: 42n,
                committedLeaderEpoch: 3,
                committedMetadata: "m",
              }),
              createOffsetCommitRequestPartition({ partitionIndex: 1, committedOffset: 7n }),
            ],
          }),
          createOffsetCommitRequestTopic({
            name: "missing",
            partitions: [createOffsetCommitRequestPartition({ partitionIndex: 0 })],
          }),
        ],
      }),
      ctx(8),
    );
    assert.deepEqual(
      commit.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
      [["orders", [0, 0]], ["missing", [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    );
    // A simple (no group management) v0 commit for another group.
    const simple = await offsetCommit(
      first,
      createOffsetCommitRequest({
        groupId: "simple",
        topics: [createOffsetCommitRequestTopic({
          name: "orders",
          partitions: [
            createOffsetCommitRequestPartition({ partitionIndex: 1, committedOffset: 9n }),
          ],
        })],
      }),
      ctx(0),
    );
    assert.equal(simple.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  } finally {
    first.close();
  }

  const second = h.manager();
  second.start(); // the store reports the partitions it already leads
  await loaded(second);
  try {
    const v1 = offsetFetch(
      second,
      createOffsetFetchRequest({
        groupId: "g1",
        topics: [createOffsetFetchRequestTopic({ name: "orders", partitionIndexes: [0, 1] })],
      }),
      ctx(1),
    );
    assert.deepEqual(
      v1.topics[0]!.partitions.map((
        p,
      ) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
      [[0, 42n, "m", 0], [1, 7n, "", 0]],
    );
    const v8 = offsetFetch(
      second,
      createOffsetFetchRequest({
        groups: [
          createOffsetFetchRequestGroup({ groupId: "g1", topics: null }),
          createOffsetFetchRequestGroup({
            groupId: "simple",
            topics: [createOffsetFetchRequestTopics({ name: "orders", partitionIndexes: [0, 1] })],
          }),
        ],
      }),
      ctx(8),
    );
    const g1 = v8.groups[0]!;
    assert.deepEqual(
      g1.topics.map((
        t,
      ) => [t.name, t.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch])]),
      [["orders", [[42n, 3], [7n, -1]]]],
    );
    const simple = v8.groups[1]!;
    assert.deepEqual(
      simple.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
      [[0, -1n, 0], [1, 9n, 0]],
      "a partition without a committed offset answers -1 and no error",
    );
    // The reloaded group is Stable with its members; it cannot be deleted while they stay.
    const deleted = await deleteGroups(
      second,
      createDeleteGroupsRequest({ groupsNames: ["g1", "simple", "simple", "nope"] }),
    );
    assert.deepEqual(
      deleted.results.map((r) => [r.groupId, r.errorCode]),
      [["g1", ErrorCode.NON_EMPTY_GROUP], ["simple", 0], ["nope", ErrorCode.GROUP_ID_NOT_FOUND]],
    );
  } finally {
    second.close();
  }
});

// ---------------------------------------------------------------- leadership

Deno.test("requests wait out loading with COORDINATOR_LOAD_IN_PROGRESS", async () => {
  const h = new Harness();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const originalRead = h.store.read.bind(h.store);
  h.store.read = async (partition, fromOffset, maxBytes) => {
    await gate;
    return originalRead(partition, fromOffset, maxBytes);
  };
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  try {
    const join = await joinGroup(manager, joinRequest("g", ""), ctx(5));
    assert.equal(join.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const fetched = offsetFetch(
      manager,
      createOffsetFetchRequest({ groupId: "g", topics: null }),
      ctx(5),
    );
    assert.equal(fetched.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const beat = heartbeat(manager, createHeartbeatRequest({ groupId: "g" }), ctx(4));
    assert.equal(beat.errorCode, ErrorCode.NONE, "Kafka answers heartbeats blindly while loading");
    const listed = listGroups(manager, createListGroupsRequest({}), ctx(4));
    assert.equal(listed.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await loaded(manager);
    const again = await joinGroup(manager, joinRequest("g", ""), ctx(5));
    assert.equal(again.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  } finally {
    release();
    manager.close();
  }
});

Deno.test("losing leadership answers parked and new requests NOT_COORDINATOR", async () => {
  const h = new Harness();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const a = await joinWithId(manager, "g", "a");
    const partition = manager.partitionFor("g");
    h.store.setLeader(partition, false);
    const parked = await a.joined;
    assert.equal(parked.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(manager.partitionStates().has(partition), false);

    const beat = heartbeat(
      manager,
      createHeartbeatRequest({ groupId: "g", memberId: a.memberId }),
      ctx(4),
    );
    assert.equal(beat.errorCode, ErrorCode.NOT_COORDINATOR);
    const commit = await offsetCommit(
      manager,
      createOffsetCommitRequest({
        groupId: "g",
        topics: [createOffsetCommitRequestTopic({
          name: "orders",
          partitions: [createOffsetCommitRequestPartition({ partitionIndex: 0 })],
        })],
      }),
      ctx(8),
    );
    assert.equal(commit.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
    const fetched = offsetFetch(
      manager,
      createOffsetFetchRequest({
        groupId: "g",
        topics: [createOffsetFetchRequestTopic({ name: "orders", partitionIndexes: [0] })],
      }),
      ctx(1),
    );
    assert.equal(
      fetched.topics[0]!.partitions[0]!.errorCode,
      ErrorCode.NOT_COORDINATOR,
      "v0-v1 carry the group error on each partition",
    );
    // The image still names this broker: it must not claim a partition it does not serve.
    const found = findCoordinator(manager, createFindCoordinatorRequest({ key: "g" }), ctx(3));
    assert.equal(found.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  } finally {
    manager.close();
  }
});

Deno.test("a commit whose append fails after leadership moved answers NOT_COORDINATOR", async () => {
  const h = new Harness();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  h.store.appendGate = () => gate;
  try {
    const pending = offsetCommit(
      manager,
      createOffsetCommitRequest({
        groupId: "g",
        topics: [createOffsetCommitRequestTopic({
          name: "orders",
          partitions: [
            createOffsetCommitRequestPartition({ partitionIndex: 0, committedOffset: 1n }),
          ],
        })],
      }),
      ctx(8),
    );
    h.store.setLeader(manager.partitionFor("g"), false);
    release();
    const commit = await pending;
    assert.equal(commit.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    release();
    manager.close();
  }
});

Deno.test("registered version ranges are the ones the handlers serve", () => {
  const h = new Harness();
  const manager = h.manager();
  const dispatcher = new Dispatcher({ logger: silentLogger });
  manager.registerHandlers(dispatcher);
  const ranges = new Map(
    dispatcher.advertised().map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]),
  );
  assert.deepEqual(
    [
      ApiKey.OFFSET_COMMIT,
      ApiKey.OFFSET_FETCH,
      ApiKey.FIND_COORDINATOR,
      ApiKey.JOIN_GROUP,
      ApiKey.HEARTBEAT,
      ApiKey.LEAVE_GROUP,
      ApiKey.SYNC_GROUP,
      ApiKey.DESCRIBE_GROUPS,
      ApiKey.LIST_GROUPS,
      ApiKey.DELETE_GROUPS,
      ApiKey.OFFSET_DELETE,
    ].map((k) => ranges.get(k)),
    [[0, 9], [0, 9], [0, 5], [0, 9], [0, 4], [0, 5], [0, 5], [0, 5], [0, 5], [0, 2], [0, 0]],
  );
});
