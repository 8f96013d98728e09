// KIP-848 online migration (Kafka 3.9/4.x): classic members (JoinGroup/SyncGroup/Heartbeat) and
// KIP-848 members (ConsumerGroupHeartbeat) in one group, the upgrade of a classic group when a
// KIP-848 member joins it and the downgrade when the last KIP-848 member leaves.
import { strict as assert } from "node:assert";
import { decodeConsumerAssignment, encodeConsumerAssignment } from "./consumer_protocol.ts";
import { GroupErrorCode as E } from "./error_codes.ts";
import { GroupCoordinator } from "./group_coordinator.ts";
import { Writer } from "../../net/protocol/writer.ts";
import {
  createConsumerProtocolSubscription,
  createTopicPartition,
  writeConsumerProtocolSubscription,
} from "../../net/protocol/generated/consumer_protocol_subscription.ts";
import { Harness } from "./test_harness.ts";
import type {
  ConsumerGroupHeartbeatInput,
  ConsumerGroupHeartbeatResult,
  GroupCoordinatorConfig,
  JoinGroupProtocol,
  TopicIdPartitions,
  TopicMetadataLookup,
} from "./types.ts";

const TOPICS: TopicMetadataLookup = {
  byName: (name) => name === "t" ? { topicId: "T", numPartitions: 4 } : undefined,
  byId: (id) => id === "T" ? { name: "t", numPartitions: 4 } : undefined,
  topicNames: () => new Map([["t", null]]),
};

function harness(config: Partial<GroupCoordinatorConfig> = {}): Harness {
  let next = 0;
  return new Harness(
    config,
    new GroupCoordinator<string>({
      config,
      topics: TOPICS,
      generateMemberId: (clientId, instanceId) => `${instanceId ?? clientId}-${next++}`,
    }),
  );
}

/** A ConsumerProtocolSubscription v1 (cooperative clients report what they still own). */
function subscription(owned: number[] = [], version = 1): Uint8Array {
  const w = new Writer(64);
  w.int16(version);
  writeConsumerProtocolSubscription(
    w,
    version,
    createConsumerProtocolSubscription({
      topics: ["t"],
      userData: null,
      ownedPartitions: owned.length === 0
        ? []
        : [createTopicPartition({ topic: "t", partitions: owned })],
    }),
  );
  return w.finish();
}

function protocols(owned: number[] = [], names = ["range"]): JoinGroupProtocol[] {
  return names.map((name) => ({ name, metadata: subscription(owned) }));
}

/** A ConsumerGroupHeartbeat through the coordinator; returns its (durable) answer. */
function heartbeat(
  h: Harness,
  init: Partial<ConsumerGroupHeartbeatInput>,
): ConsumerGroupHeartbeatResult {
  const input: ConsumerGroupHeartbeatInput = {
    groupId: "g",
    memberId: "kip848",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: ["t"],
    serverAssignor: null,
    topicPartitions: [],
    clientId: "new",
    clientHost: "/127.0.0.1",
    apiVersion: 1,
    ...init,
  };
  h.run(h.coordinator.consumerGroupHeartbeat("hb", input, h.nowMs));
  const r = h.take("hb");
  assert.ok(r?.api === "ConsumerGroupHeartbeat", "the heartbeat is answered");
  return r.response;
}

const partitionsOf = (list: TopicIdPartitions[] | undefined | null) =>
  (list ?? []).flatMap((t) => t.partitions).sort();

const assigned = (bytes: Uint8Array) => (decodeConsumerAssignment(bytes)?.get("t") ?? []).sort();

/** Joins a classic member (KIP-394 two steps) and returns its id and join answer. */
function classicJoin(h: Harness, handle: string, owned: number[] = [], memberId = "") {
  let id = memberId;
  if (id === "") {
    const first = h.join(handle, { memberId: "", protocols: protocols(owned), clientId: handle });
    assert.equal(first?.errorCode, E.MEMBER_ID_REQUIRED);
    h.take(handle);
    id = first!.memberId;
  }
  h.join(handle, { memberId: id, protocols: protocols(owned), clientId: handle });
  const joined = h.joinResult(handle);
  assert.ok(joined !== undefined, `${handle}'s JoinGroup is answered`);
  return { id, joined };
}

function classicSync(h: Harness, handle: string, memberId: string, generationId: number) {
  h.sync(handle, { memberId, generationId });
  const r = h.syncResult(handle);
  assert.ok(r !== undefined, `${handle}'s SyncGroup is answered`);
  return r;
}

Deno.test("a classic member joins a consumer group and shares its partitions with a KIP-848 member", () => {
  const h = harness();
  const first = heartbeat(h, {});
  assert.equal(first.memberEpoch, 1);
  assert.deepEqual(partitionsOf(first.assignment?.topicPartitions), [0, 1, 2, 3]);

  const { id, joined } = classicJoin(h, "old");
  assert.equal(joined.errorCode, E.NONE);
  assert.equal(joined.protocolType, "consumer");
  assert.equal(joined.protocolName, "range");
  assert.equal(joined.leader, "", "the coordinator assigns; no classic member leads");
  assert.equal(joined.generationId, 2, "the generation is the member's epoch");
  // Its partitions are still owned by the KIP-848 member: it gets nothing yet.
  assert.deepEqual(assigned(classicSync(h, "old", id, 2).assignment), []);
  assert.equal(h.heartbeat(id, 2), E.NONE, "nothing to pick up while the others still own them");

  // The KIP-848 member revokes what it must give up.
  const revoke = heartbeat(h, {
    memberEpoch: 1,
    topicPartitions: first.assignment!.topicPartitions,
  });
  const kept = partitionsOf(revoke.assignment?.topicPartitions);
  assert.equal(kept.length, 2);
  const after = heartbeat(h, {
    memberEpoch: revoke.memberEpoch,
    topicPartitions: [{ topicId: "T", partitions: kept }],
  });
  assert.equal(after.memberEpoch, 2);

  // The classic member learns by its heartbeat that it should rejoin, then collects the rest.
  assert.equal(h.heartbeat(id, 2), E.REBALANCE_IN_PROGRESS);
  const rejoined = classicJoin(h, "old", [], id).joined;
  assert.equal(rejoined.generationId, 2);
  const mine = assigned(classicSync(h, "old", id, 2).assignment);
  assert.deepEqual([...mine, ...kept].sort(), [0, 1, 2, 3], "every partition has one owner");
  assert.equal(h.heartbeat(id, 2), E.NONE);

  const [described] = h.coordinator.consumerGroupDescribe(["g"]);
  assert.equal(described!.groupState, "Stable");
  assert.equal(described!.members.length, 2);
});

Deno.test("a classic group with members becomes a consumer group when a KIP-848 member joins", () => {
  const h = harness({ groupInitialRebalanceDelayMs: 0 });
  // Two classic members form generation 1; the leader assigns 0,1 and 2,3.
  const a = h.joinDynamic("a", { protocols: protocols() });
  const b = h.joinDynamic("b", { protocols: protocols() });
  h.advance(1);
  h.advance(1); // the delayed initial rebalance waits once more for the second member
  const ja = h.joinResult("a")!;
  h.joinResult("b");
  const leader = ja.leader;
  const generation = ja.generationId;
  const assignments = [
    { memberId: a, assignment: encodeConsumerAssignment(new Map([["t", [0, 1]]]), 1) },
    { memberId: b, assignment: encodeConsumerAssignment(new Map([["t", [2, 3]]]), 1) },
  ];
  h.sync(leader === a ? "a" : "b", { memberId: leader, generationId: generation, assignments });
  h.sync(leader === a ? "b" : "a", {
    memberId: leader === a ? b : a,
    generationId: generation,
  });
  assert.deepEqual(assigned(h.syncResult("a")!.assignment), [0, 1]);
  assert.deepEqual(assigned(h.syncResult("b")!.assignment), [2, 3]);
  h.commit("c", {
    generationIdOrMemberEpoch: generation,
    memberId: a,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 7,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      }],
    }],
  });

  const logBefore = h.log.length;
  const joined = heartbeat(h, {});
  assert.equal(joined.errorCode, E.NONE);
  assert.equal(joined.memberEpoch, generation + 1);
  const written = h.log.slice(logBefore);
  assert.ok(
    written.some((r) => r.type === "groupMetadata" && r.value === null),
    "the classic group's metadata is tombstoned",
  );
  const [described] = h.coordinator.consumerGroupDescribe(["g"]);
  assert.equal(described!.errorCode, E.NONE);
  assert.equal(described!.members.length, 3);
  // The classic members keep their partitions until they rejoin and give some up.
  assert.equal(h.heartbeat(a, generation), E.REBALANCE_IN_PROGRESS);
  assert.equal(h.heartbeat(b, generation), E.REBALANCE_IN_PROGRESS);
  const fetched = h.coordinator.offsetFetch({
    groupId: "g",
    topics: [{ name: "t", partitionIndexes: [0] }],
    requireStable: false,
  });
  assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 7, "offsets are kept");

  // Cooperative classic members rejoin reporting what they own; revocation completes.
  for (const [handle, id, owned] of [["a", a, [0, 1]], ["b", b, [2, 3]]] as const) {
    const rejoin = classicJoin(h, handle, [...owned], id).joined;
    const sync = classicSync(h, handle, id, rejoin.generationId);
    const keep = assigned(sync.assignment);
    // Second round: report only what it kept.
    if (h.heartbeat(id, rejoin.generationId) === E.REBALANCE_IN_PROGRESS) {
      const again = classicJoin(h, handle, keep, id).joined;
      classicSync(h, handle, id, again.generationId);
    }
  }
  const pick = heartbeat(h, { memberEpoch: joined.memberEpoch, topicPartitions: [] });
  const owners = new Map<number, string>();
  const [final] = h.coordinator.consumerGroupDescribe(["g"]);
  for (const m of final!.members) {
    for (const p of partitionsOf(m.assignment.topicPartitions)) {
      assert.ok(!owners.has(p), `partition ${p} has one owner`);
      owners.set(p, m.memberId);
    }
  }
  assert.ok(pick.errorCode === E.NONE);
  assert.deepEqual([...owners.keys()].sort(), [0, 1, 2, 3], "every partition is owned again");
  assert.ok(
    final!.members.some((m) => m.memberId === "kip848" && m.assignment.topicPartitions.length > 0),
    "the KIP-848 member gets partitions once the classic members released them",
  );
});

Deno.test("the group goes back to classic when its last KIP-848 member leaves", () => {
  const h = harness();
  heartbeat(h, {});
  const { id } = classicJoin(h, "old");
  classicSync(h, "old", id, 2);
  const before = h.log.length;
  const left = heartbeat(h, { memberEpoch: -1, topicPartitions: null });
  assert.equal(left.errorCode, E.NONE);
  const written = h.log.slice(before);
  assert.ok(written.some((r) => r.type === "consumerGroupMetadata" && r.value === null));
  assert.ok(written.some((r) => r.type === "groupMetadata" && r.value !== null));
  assert.deepEqual(h.coordinator.consumerGroupDescribe(["g"])[0]!.errorCode, E.GROUP_ID_NOT_FOUND);
  // A classic group now, rebalancing: its member rejoins and leads a classic generation.
  assert.equal(h.heartbeat(id, 2), E.REBALANCE_IN_PROGRESS);
  const rejoined = classicJoin(h, "old", [], id).joined;
  assert.equal(rejoined.leader, id);
  assert.equal(rejoined.members.length, 1);
  assert.equal(rejoined.generationId, 3);
  const listed = h.coordinator.listGroups({ statesFilter: [], typesFilter: [] }).groups;
  assert.deepEqual(listed.map((g) => g.groupType), ["classic"]);
});

Deno.test("group.consumer.migration.policy=disabled keeps the groups apart", () => {
  const h = harness({ consumerGroupMigrationPolicy: "disabled", groupInitialRebalanceDelayMs: 0 });
  h.joinDynamic("a", { protocols: protocols() });
  h.advance(1);
  assert.equal(h.joinResult("a")!.errorCode, E.NONE);
  const refused = heartbeat(h, {});
  assert.equal(refused.errorCode, E.GROUP_ID_NOT_FOUND);
  assert.match(refused.errorMessage ?? "", /not a consumer group/);

  const other = harness({ consumerGroupMigrationPolicy: "disabled" });
  heartbeat(other, {});
  const { id } = classicJoin(other, "old");
  heartbeat(other, { memberEpoch: -1, topicPartitions: null });
  assert.equal(other.coordinator.consumerGroupDescribe(["g"])[0]!.members.length, 1);
  assert.equal(other.coordinator.consumerGroupDescribe(["g"])[0]!.members[0]!.memberId, id);
});

Deno.test("classic members of a consumer group are checked, fenced and reloaded", () => {
  const h = harness();
  heartbeat(h, {});
  const { id, joined } = classicJoin(h, "old");
  // Wrong generation, wrong protocol, unknown member: Kafka's classic errors.
  h.sync("x", { memberId: id, generationId: joined.generationId + 5 });
  assert.equal(h.syncResult("x")!.errorCode, E.ILLEGAL_GENERATION);
  h.sync("x", { memberId: id, generationId: joined.generationId, protocolName: "roundrobin" });
  assert.equal(h.syncResult("x")!.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.heartbeat("nobody", 2), E.UNKNOWN_MEMBER_ID);
  assert.equal(
    h.heartbeat("kip848", 1),
    E.UNKNOWN_MEMBER_ID,
    "a KIP-848 member cannot use Heartbeat",
  );
  h.join("y", { memberId: "", protocols: protocols([], ["roundrobin"]) });
  assert.equal(h.joinResult("y")!.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  h.join("z", { memberId: "", protocols: [{ name: "range", metadata: new Uint8Array([1]) }] });
  assert.equal(h.joinResult("z")!.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  // A commit with the generation id, as classic clients send it.
  h.commit("c", {
    generationIdOrMemberEpoch: joined.generationId - 1,
    memberId: id,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 1,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      }],
    }],
  });
  assert.equal(h.commitResult("c")!.topics[0]!.partitions[0]!.errorCode, E.ILLEGAL_GENERATION);

  // Reloaded from the log, the member is still a classic member.
  const reloaded = harness();
  reloaded.coordinator.load(h.log, 0);
  assert.equal(reloaded.heartbeat(id, joined.generationId), E.NONE);

  // It never syncs: the rebalance timeout fences it.
  h.advance(30_001);
  const [described] = h.coordinator.consumerGroupDescribe(["g"]);
  assert.deepEqual(described!.members.map((m) => m.memberId), ["kip848"]);
});

Deno.test("a classic JoinGroup to an empty consumer group makes it a classic group, offsets kept", () => {
  const h = harness({ groupInitialRebalanceDelayMs: 0 });
  const first = heartbeat(h, {});
  h.run(h.coordinator.offsetCommit("c", {
    apiVersion: 9,
    groupId: "g",
    generationIdOrMemberEpoch: first.memberEpoch,
    memberId: "kip848",
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 1,
        committedOffset: 42,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      }],
    }],
  }, h.nowMs));
  heartbeat(h, { memberEpoch: -1, topicPartitions: null });
  h.joinDynamic("a", { protocols: protocols() });
  h.advance(1);
  assert.equal(h.joinResult("a")!.errorCode, E.NONE);
  const fetched = h.coordinator.offsetFetch({
    groupId: "g",
    topics: [{ name: "t", partitionIndexes: [1] }],
    requireStable: false,
  });
  assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 42);
});
