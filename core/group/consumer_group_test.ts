import { strict as assert } from "node:assert";
import { ConsumerGroups } from "./consumer_group_coordinator.ts";
import { MemberState } from "./consumer_group.ts";
import { GroupErrorCode } from "./error_codes.ts";
import { GroupCoordinator } from "./group_coordinator.ts";
import { randomMemberIdGenerator } from "./member_id.ts";
import { SeededRandom } from "../random.ts";
import {
  type ConsumerGroupHeartbeatInput,
  GROUP_COORDINATOR_DEFAULTS,
  type GroupEffect,
  type TopicIdPartitions,
  type TopicMetadataLookup,
} from "./types.ts";

const TOPICS: TopicMetadataLookup = {
  byName: (name) => name === "t" ? { topicId: "T", numPartitions: 4 } : undefined,
  byId: (id) => id === "T" ? { name: "t", numPartitions: 4 } : undefined,
  topicNames: () => new Map([["t", null]]),
};

function groups(): ConsumerGroups {
  return new ConsumerGroups({
    config: GROUP_COORDINATOR_DEFAULTS,
    topics: TOPICS,
    generateMemberId: randomMemberIdGenerator(new SeededRandom(1)),
  });
}

function hb(init: Partial<ConsumerGroupHeartbeatInput>): ConsumerGroupHeartbeatInput {
  return {
    groupId: "g",
    memberId: "",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: ["t"],
    serverAssignor: null,
    topicPartitions: [],
    clientId: "c",
    clientHost: "/127.0.0.1",
    ...init,
  };
}

const partitions = (list: TopicIdPartitions[] | undefined) =>
  (list ?? []).flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p}`)).sort();

// KIP-848: a joining member (epoch 0) gets a member id, the new group epoch and its target.
Deno.test("the first member joins at epoch 1 with every partition", () => {
  const g = groups();
  const { result, records } = g.heartbeat(hb({ memberId: "a" }), 0);
  assert.equal(result.errorCode, 0);
  assert.equal(result.memberId, "a");
  assert.equal(result.memberEpoch, 1);
  assert.equal(result.heartbeatIntervalMs, 5000);
  assert.deepEqual(partitions(result.assignment?.topicPartitions), ["T:0", "T:1", "T:2", "T:3"]);
  assert.deepEqual(
    records.map((r) => r.type),
    [
      "consumerGroupMemberMetadata",
      "consumerGroupPartitionMetadata",
      "consumerGroupMetadata",
      "consumerGroupTargetAssignmentMember",
      "consumerGroupTargetAssignmentMetadata",
      "consumerGroupCurrentMemberAssignment",
    ],
  );
});

// KIP-848 reconciliation: revocation before assignment; a partition is not assigned to a new
// owner while its previous owner still holds it.
Deno.test("a second member waits until the first revokes, and epochs only move forward", () => {
  const g = groups();
  g.heartbeat(hb({ memberId: "a" }), 0);
  const b1 = g.heartbeat(hb({ memberId: "b" }), 1).result;
  assert.equal(b1.memberEpoch, 2);
  assert.deepEqual(partitions(b1.assignment?.topicPartitions), []); // all still owned by a
  assert.equal(g.groups.get("g")!.members.get("b")!.state, MemberState.UNRELEASED_PARTITIONS);

  const all = [{ topicId: "T", partitions: [0, 1, 2, 3] }];
  const a2 = g.heartbeat(hb({ memberId: "a", memberEpoch: 1, topicPartitions: all }), 2).result;
  assert.equal(a2.memberEpoch, 1, "a keeps its epoch until it has revoked");
  assert.deepEqual(partitions(a2.assignment?.topicPartitions), ["T:0", "T:1"]);
  assert.equal(g.groups.get("g")!.state(), "Reconciling");

  const kept = [{ topicId: "T", partitions: [0, 1] }];
  const a3 = g.heartbeat(hb({ memberId: "a", memberEpoch: 1, topicPartitions: kept }), 3).result;
  assert.equal(a3.memberEpoch, 2);

  const b2 = g.heartbeat(hb({ memberId: "b", memberEpoch: 2, topicPartitions: [] }), 4).result;
  assert.equal(b2.memberEpoch, 2);
  assert.deepEqual(partitions(b2.assignment?.topicPartitions), ["T:2", "T:3"]);
  assert.equal(g.groups.get("g")!.state(), "Stable");
});

Deno.test("a member leaving with epoch -1 releases its partitions to the others", () => {
  const g = groups();
  g.heartbeat(hb({ memberId: "a" }), 0);
  g.heartbeat(hb({ memberId: "b" }), 0);
  g.heartbeat(
    hb({ memberId: "a", memberEpoch: 1, topicPartitions: [{ topicId: "T", partitions: [0, 1] }] }),
    0,
  );
  const left = g.heartbeat(hb({ memberId: "a", memberEpoch: -1, topicPartitions: null }), 1);
  assert.equal(left.result.memberEpoch, -1);
  assert.ok(left.records.some((r) => r.type === "consumerGroupMemberMetadata" && r.value === null));
  const b = g.heartbeat(hb({ memberId: "b", memberEpoch: 2, topicPartitions: [] }), 2).result;
  assert.equal(b.memberEpoch, 3);
  assert.deepEqual(partitions(b.assignment?.topicPartitions), ["T:0", "T:1", "T:2", "T:3"]);
});

Deno.test("heartbeats with a wrong epoch, unknown member or assignor are refused", () => {
  const g = groups();
  g.heartbeat(hb({ memberId: "a" }), 0);
  const E = GroupErrorCode;
  const code = (init: Partial<ConsumerGroupHeartbeatInput>) =>
    g.heartbeat(hb(init), 1).result.errorCode;
  assert.equal(
    code({ memberId: "a", memberEpoch: 7, topicPartitions: null }),
    E.FENCED_MEMBER_EPOCH,
  );
  assert.equal(
    code({ memberId: "zz", memberEpoch: 1, topicPartitions: null }),
    E.UNKNOWN_MEMBER_ID,
  );
  assert.equal(code({ memberId: "b", serverAssignor: "sticky" }), E.UNSUPPORTED_ASSIGNOR);
  assert.equal(code({ groupId: "other", memberId: "a", memberEpoch: 1 }), E.GROUP_ID_NOT_FOUND);
  assert.equal(code({ memberId: "b", subscribedTopicNames: null }), E.INVALID_REQUEST);
  assert.equal(code({ memberId: "a", memberEpoch: -2, topicPartitions: null }), E.INVALID_REQUEST);
});

Deno.test("a member whose session expires is removed and the group epoch bumps", () => {
  const g = groups();
  g.heartbeat(hb({ memberId: "a" }), 0);
  assert.equal(g.nextDeadlineMs(), 45000);
  const records = g.tick(45000);
  assert.equal(g.groups.get("g")!.members.size, 0);
  assert.equal(g.groups.get("g")!.groupEpoch, 2);
  assert.ok(records.some((r) => r.type === "consumerGroupMetadata" && r.value?.epoch === 2));
});

Deno.test("a static member leaving with -2 keeps its partitions for its replacement", () => {
  const g = groups();
  g.heartbeat(hb({ memberId: "a", instanceId: "i" }), 0);
  const all = [{ topicId: "T", partitions: [0, 1, 2, 3] }];
  assert.equal(
    g.heartbeat(hb({ memberId: "a2", instanceId: "i" }), 1).result.errorCode,
    GroupErrorCode.UNRELEASED_INSTANCE_ID,
  );
  g.heartbeat(hb({ memberId: "a", memberEpoch: -2, instanceId: "i", topicPartitions: all }), 1);
  const back = g.heartbeat(hb({ memberId: "a2", instanceId: "i" }), 2).result;
  assert.equal(back.errorCode, 0);
  assert.equal(back.memberEpoch, 1, "no rebalance for a returning static member");
  assert.deepEqual(partitions(back.assignment?.topicPartitions), ["T:0", "T:1", "T:2", "T:3"]);
});

function coordinator() {
  return new GroupCoordinator<number>({
    generateMemberId: randomMemberIdGenerator(new SeededRandom(3)),
    topics: TOPICS,
  });
}

function settle(c: GroupCoordinator<number>, effects: GroupEffect<number>[], log: unknown[]) {
  const out: GroupEffect<number>[] = [];
  const queue = [...effects];
  for (let i = 0; i < 100 && queue.length > 0; i++) {
    const e = queue.shift()!;
    if (e.type === "append") {
      log.push(...e.records);
      queue.push(...c.appendComplete(e.appendId, 0));
    } else out.push(e);
  }
  return out;
}

Deno.test("the coordinator answers a heartbeat once its records are durable, and reloads them", () => {
  const c = coordinator();
  const log: never[] = [];
  const effects = c.consumerGroupHeartbeat(1, hb({ memberId: "a" }), 0);
  assert.equal(effects[0]!.type, "append");
  const [answer] = settle(c, effects, log);
  assert.ok(answer?.type === "respond" && answer.api === "ConsumerGroupHeartbeat");
  assert.equal(answer.response.memberEpoch, 1);
  const listed = c.listGroups({ statesFilter: [], typesFilter: ["consumer"] }).groups;
  assert.deepEqual(listed.map((g) => [g.groupId, g.groupType, g.groupState]), [[
    "g",
    "consumer",
    "Stable",
  ]]);
  assert.equal(c.listGroups({ statesFilter: [], typesFilter: ["classic"] }).groups.length, 0);

  const reloaded = coordinator();
  reloaded.load(log, 10);
  const [described] = reloaded.consumerGroupDescribe(["g"]);
  assert.equal(described!.groupEpoch, 1);
  assert.equal(described!.members[0]!.memberEpoch, 1);
  assert.deepEqual(described!.members[0]!.assignment.topicPartitions[0]!.partitions, [0, 1, 2, 3]);
  assert.equal(described!.members[0]!.assignment.topicPartitions[0]!.topicName, "t");
});

Deno.test("a classic JoinGroup to a consumer group without a consumer subscription is INCONSISTENT_GROUP_PROTOCOL", () => {
  const c = coordinator();
  settle(c, c.consumerGroupHeartbeat(1, hb({ memberId: "a" }), 0), []);
  const [join] = c.joinGroup(2, {
    apiVersion: 9,
    groupId: "g",
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 30000,
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array() }],
    clientId: "c",
    clientHost: "/127.0.0.1",
  }, 0);
  assert.ok(join?.type === "respond" && join.api === "JoinGroup");
  assert.equal(join.response.errorCode, GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(c.consumerGroupDescribe(["nope"])[0]!.errorCode, GroupErrorCode.GROUP_ID_NOT_FOUND);
});

Deno.test("a member commits offsets with OffsetCommit v9 at its member epoch", () => {
  const c = coordinator();
  settle(c, c.consumerGroupHeartbeat(1, hb({ memberId: "a" }), 0), []);
  const commit = (epoch: number, apiVersion = 9) => {
    const [r] = settle(
      c,
      c.offsetCommit(2, {
        apiVersion,
        groupId: "g",
        generationIdOrMemberEpoch: epoch,
        memberId: "a",
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [{
          name: "t",
          partitions: [{
            partitionIndex: 0,
            committedOffset: 5,
            committedLeaderEpoch: -1,
            committedMetadata: "",
          }],
        }],
      }, 0),
      [],
    );
    assert.ok(r?.type === "respond" && r.api === "OffsetCommit");
    return r.response.topics[0]!.partitions[0]!.errorCode;
  };
  assert.equal(commit(0), GroupErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(commit(1, 8), GroupErrorCode.UNSUPPORTED_VERSION);
  assert.equal(commit(1), GroupErrorCode.NONE);
  const fetched = c.offsetFetch({
    groupId: "g",
    topics: [{ name: "t", partitionIndexes: [0] }],
    requireStable: false,
  });
  assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 5);
});
