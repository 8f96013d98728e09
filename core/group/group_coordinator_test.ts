import { strict as assert } from "node:assert";
import { GroupErrorCode as E } from "./error_codes.ts";
import { assignmentFor, consumerProtocols, Harness } from "./test_harness.ts";

/** Two dynamic members join through KIP-394, finish the delayed initial rebalance, and sync. */
function stableGroupOfTwo(h: Harness) {
  const a = h.joinDynamic("a-join", { clientId: "a" });
  const b = h.joinDynamic("b-join", { clientId: "b" });
  h.advance(3000); // initial delay ends, but b arrived during it: the delay is extended once
  h.advance(3000);
  const joinA = h.joinResult("a-join")!;
  const joinB = h.joinResult("b-join")!;
  h.sync("b-sync", { memberId: b, generationId: joinB.generationId });
  const syncA = h.sync("a-sync", {
    memberId: a,
    generationId: joinA.generationId,
    assignments: [{ memberId: a, assignment: assignmentFor(0) }, {
      memberId: b,
      assignment: assignmentFor(1),
    }],
  });
  return { a, b, joinA, joinB, syncA, syncB: h.syncResult("b-sync") };
}

Deno.test("a first JoinGroup without a member id gets MEMBER_ID_REQUIRED and a generated id", () => {
  // KIP-394: v4+ dynamic members must come back with the id the coordinator handed out.
  const h = new Harness();
  const result = h.join("j", { memberId: "" });
  assert.equal(result?.errorCode, E.MEMBER_ID_REQUIRED);
  assert.equal(result?.memberId, "client-0");
  assert.deepEqual(h.coordinator.group("g")?.pendingMemberIds, ["client-0"]);
});

Deno.test("a v3 JoinGroup without a member id joins at once", () => {
  const h = new Harness();
  assert.equal(h.join("j", { memberId: "", apiVersion: 3 }), undefined); // parked
  assert.equal(h.coordinator.group("g")?.members.length, 1);
});

Deno.test("two members join and both get the same generation; only the leader gets metadata", () => {
  const h = new Harness();
  const { a, b, joinA, joinB, syncA, syncB } = stableGroupOfTwo(h);
  assert.equal(joinA.errorCode, E.NONE);
  assert.equal(joinB.errorCode, E.NONE);
  assert.equal(joinA.generationId, 1);
  assert.equal(joinB.generationId, 1);
  assert.equal(joinA.leader, a);
  assert.equal(joinB.leader, a);
  assert.equal(joinA.protocolName, "range");
  assert.deepEqual(joinA.members.map((m) => m.memberId), [a, b]);
  assert.deepEqual(joinA.members[1]!.metadata, consumerProtocols(["t"])[0]!.metadata);
  assert.deepEqual(joinB.members, []);
  assert.deepEqual(syncA?.assignment, assignmentFor(0));
  assert.deepEqual(syncB?.assignment, assignmentFor(1));
  assert.equal(h.coordinator.group("g")?.state, "Stable");
});

Deno.test("the initial rebalance waits group.initial.rebalance.delay.ms before completing", () => {
  const h = new Harness();
  h.joinDynamic("a-join");
  h.advance(2999);
  assert.equal(h.joinResult("a-join"), undefined);
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  h.advance(1);
  assert.equal(h.joinResult("a-join")?.generationId, 1);
});

Deno.test("follower SyncGroup waits until the leader's assignment is durable", () => {
  // Kafka stores the group before propagating assignments: persist, then respond.
  const h = new Harness();
  const a = h.joinDynamic("a-join");
  const b = h.joinDynamic("b-join");
  h.advance(3000);
  h.advance(3000);
  h.holdAppends = true;
  assert.equal(h.sync("b-sync", { memberId: b }), undefined);
  assert.equal(h.sync("a-sync", { memberId: a, assignments: [] }), undefined);
  const groupRecord = h.log.at(-1)!;
  assert.equal(groupRecord.type, "groupMetadata");
  assert.equal(h.coordinator.group("g")?.state, "CompletingRebalance");
  h.releaseAppends();
  assert.equal(h.syncResult("a-sync")?.errorCode, E.NONE);
  assert.equal(h.syncResult("b-sync")?.errorCode, E.NONE);
  assert.equal(h.coordinator.group("g")?.state, "Stable");
});

Deno.test("a failed group append answers SyncGroup with the mapped error and rebalances", () => {
  const h = new Harness();
  const a = h.joinDynamic("a-join");
  h.advance(3000);
  h.holdAppends = true;
  h.sync("a-sync", { memberId: a });
  h.releaseAppends(E.NOT_LEADER_OR_FOLLOWER);
  assert.equal(h.syncResult("a-sync")?.errorCode, E.NOT_COORDINATOR);
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
});

Deno.test("a member that stops heartbeating is removed after its session timeout", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  for (let i = 0; i < 3; i++) {
    h.advance(3000);
    assert.equal(h.heartbeat(a, 1), E.NONE);
  }
  assert.equal(h.coordinator.group("g")?.state, "Stable");
  // b was last heard of when its sync was answered (t=6000); its 10 s session ended at t=16000.
  h.advance(3000);
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  assert.deepEqual(h.coordinator.group("g")?.members.map((m) => m.memberId), [a]);
  assert.equal(h.heartbeat(b, 1), E.UNKNOWN_MEMBER_ID);
  assert.equal(h.heartbeat(a, 1), E.REBALANCE_IN_PROGRESS);
  // The survivor rejoins and the rebalance completes at once: everyone known has joined.
  h.join("a-rejoin", { memberId: a });
  const rejoin = h.joinResult("a-rejoin")!;
  assert.equal(rejoin.generationId, 2);
  assert.equal(rejoin.leader, a);
  assert.deepEqual(rejoin.members.map((m) => m.memberId), [a]);
});

Deno.test("a third member joining a stable group triggers a rebalance", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  const c = h.joinDynamic("c-join", { clientId: "c" });
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  assert.equal(h.heartbeat(a, 1), E.REBALANCE_IN_PROGRESS);
  assert.equal(h.heartbeat(b, 1), E.REBALANCE_IN_PROGRESS);
  assert.equal(h.sync("b-sync2", { memberId: b, generationId: 1 })?.errorCode, 27);
  h.join("a-rejoin", { memberId: a });
  assert.equal(h.joinResult("a-rejoin"), undefined); // b has not rejoined yet
  assert.equal(h.join("b-rejoin", { memberId: b })?.generationId, 2);
  const joinA = h.joinResult("a-rejoin")!;
  assert.equal(joinA.generationId, 2);
  assert.deepEqual(joinA.members.map((m) => m.memberId), [a, b, c]);
  assert.equal(h.joinResult("c-join")?.generationId, 2);
});

Deno.test("members that do not rejoin within the rebalance timeout are removed", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  h.join("a-rejoin", { memberId: a }); // the leader rejoining forces a rebalance
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  h.advance(3000);
  assert.equal(h.heartbeat(b, 1), E.REBALANCE_IN_PROGRESS); // alive but never rejoins
  h.advance(27_000);
  const joinA = h.joinResult("a-rejoin")!;
  assert.equal(joinA.generationId, 2);
  assert.deepEqual(joinA.members.map((m) => m.memberId), [a]);
  assert.equal(h.heartbeat(b, 2), E.UNKNOWN_MEMBER_ID);
});

Deno.test("a follower that never sends SyncGroup is removed after the rebalance timeout", () => {
  const h = new Harness();
  const a = h.joinDynamic("a-join");
  h.joinDynamic("b-join");
  h.advance(3000);
  h.advance(3000);
  const b = h.coordinator.group("g")!.members[1]!.memberId;
  h.sync("a-sync", { memberId: a });
  assert.equal(h.coordinator.group("g")?.state, "Stable");
  // b heartbeats (so its session lives) but never syncs; the sync deadline is 30 s after the join.
  for (let i = 0; i < 10; i++) {
    h.advance(3000);
    h.heartbeat(a, 1);
    h.heartbeat(b, 1);
  }
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  assert.deepEqual(h.coordinator.group("g")?.members.map((m) => m.memberId), [a]);
});

Deno.test("the protocol every member supports with the most votes is selected", () => {
  const h = new Harness();
  const metadata = new Uint8Array([0, 0, 0, 0, 0, 0]);
  const p = (...names: string[]) => names.map((name) => ({ name, metadata }));
  h.joinDynamic("a", { protocols: p("range", "roundrobin", "sticky") });
  h.joinDynamic("b", { protocols: p("sticky", "roundrobin") });
  h.joinDynamic("c", { protocols: p("roundrobin", "sticky") });
  h.advance(3000);
  h.advance(3000);
  // range is not supported by everyone, so a votes roundrobin; b votes sticky; c roundrobin.
  assert.equal(h.joinResult("a")?.protocolName, "roundrobin");
});

Deno.test("a member with a different protocol type gets INCONSISTENT_GROUP_PROTOCOL", () => {
  const h = new Harness();
  h.joinDynamic("a");
  assert.equal(h.join("x", { protocolType: "connect" })?.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  const other = [{ name: "other", metadata: new Uint8Array() }];
  assert.equal(h.join("y", { protocols: other })?.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.join("z", { protocolType: "", groupId: "h" })?.errorCode, 23);
  assert.deepEqual(h.coordinator.groupIds(), ["g"]); // the failed join left no group behind
});

Deno.test("session timeouts outside the broker's bounds get INVALID_SESSION_TIMEOUT", () => {
  const h = new Harness();
  assert.equal(h.join("a", { sessionTimeoutMs: 5999 })?.errorCode, E.INVALID_SESSION_TIMEOUT);
  assert.equal(h.join("b", { sessionTimeoutMs: 1_800_001 })?.errorCode, 26);
  assert.equal(h.join("c", { groupId: "" })?.errorCode, E.INVALID_GROUP_ID);
});

Deno.test("a join beyond group.max.size gets GROUP_MAX_SIZE_REACHED", () => {
  const h = new Harness({ groupMaxSize: 2 });
  stableGroupOfTwo(h);
  const third = h.join("c", { memberId: "", apiVersion: 3 });
  assert.equal(third?.errorCode, E.GROUP_MAX_SIZE_REACHED);
  assert.equal(h.coordinator.group("g")?.state, "Stable");
});

Deno.test("SyncGroup answers ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and protocol mismatches", () => {
  const h = new Harness();
  const { a } = stableGroupOfTwo(h);
  assert.equal(h.sync("s1", { memberId: a, generationId: 0 })?.errorCode, E.ILLEGAL_GENERATION);
  assert.equal(h.sync("s2", { memberId: "nobody" })?.errorCode, E.UNKNOWN_MEMBER_ID);
  assert.equal(
    h.sync("s3", { memberId: a, protocolName: "sticky" })?.errorCode,
    E.INCONSISTENT_GROUP_PROTOCOL,
  );
  // KIP-559: v5 must carry both names.
  assert.equal(h.sync("s4", { memberId: a, protocolType: null })?.errorCode, 23);
  assert.equal(h.sync("s5", { memberId: a, apiVersion: 4, protocolType: null })?.errorCode, 0);
});

Deno.test("a stable follower rejoining with the same metadata gets the current generation", () => {
  const h = new Harness();
  const { b } = stableGroupOfTwo(h);
  const rejoin = h.join("b-again", { memberId: b });
  assert.equal(rejoin?.generationId, 1);
  assert.equal(h.coordinator.group("g")?.state, "Stable");
});

Deno.test("a cooperative member rejoining with new metadata triggers a plain rebalance", () => {
  // KIP-429: the coordinator only relays metadata; the clients do the incremental revocation.
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  h.join("b-again", { memberId: b, protocols: consumerProtocols(["t", "u"]) });
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
  h.join("a-again", { memberId: a });
  const joinA = h.joinResult("a-again")!;
  assert.equal(joinA.generationId, 2);
  assert.deepEqual(joinA.members[1]!.metadata, consumerProtocols(["t", "u"])[0]!.metadata);
  // Members keep their old assignment until the next sync.
  assert.deepEqual(h.coordinator.group("g")!.members[1]!.assignment, assignmentFor(1));
});

/** Two static members "ia" and "ib", Stable at generation 1. */
function stableStaticGroup(h: Harness) {
  h.join("a-join", { groupInstanceId: "ia", clientId: "a" });
  h.join("b-join", { groupInstanceId: "ib", clientId: "b" });
  h.advance(3000);
  h.advance(3000);
  const joinA = h.joinResult("a-join")!;
  const joinB = h.joinResult("b-join")!;
  h.sync("b-sync", { memberId: joinB.memberId, groupInstanceId: "ib" });
  h.sync("a-sync", {
    memberId: joinA.memberId,
    groupInstanceId: "ia",
    assignments: [
      { memberId: joinA.memberId, assignment: assignmentFor(0) },
      { memberId: joinB.memberId, assignment: assignmentFor(1) },
    ],
  });
  h.take("b-sync");
  return { a: joinA.memberId, b: joinB.memberId };
}

Deno.test("a static member rejoining with a new member id keeps its assignment without a rebalance", () => {
  // KIP-345: a restart with the same group.instance.id does not rebalance a Stable group.
  const h = new Harness();
  const { a, b } = stableStaticGroup(h);
  assert.equal(a, "ia-0"); // static members skip MEMBER_ID_REQUIRED
  h.holdAppends = true;
  assert.equal(h.join("b-restart", { groupInstanceId: "ib", apiVersion: 8 }), undefined);
  assert.equal(h.log.at(-1)?.type, "groupMetadata"); // the new member id is persisted first
  h.releaseAppends();
  const rejoin = h.joinResult("b-restart")!;
  assert.equal(rejoin.errorCode, E.NONE);
  assert.notEqual(rejoin.memberId, b);
  assert.equal(rejoin.generationId, 1);
  assert.equal(rejoin.leader, a);
  assert.equal(h.coordinator.group("g")?.state, "Stable");
  const sync = h.sync("b-sync2", { memberId: rejoin.memberId, groupInstanceId: "ib" });
  assert.deepEqual(sync?.assignment, assignmentFor(1));
});

Deno.test("a restarted static leader learns it leads with skipAssignment on JoinGroup v9", () => {
  const h = new Harness();
  stableStaticGroup(h);
  const rejoin = h.join("a-restart", { groupInstanceId: "ia", apiVersion: 9 })!;
  assert.equal(rejoin.leader, rejoin.memberId);
  assert.equal(rejoin.skipAssignment, true);
  assert.equal(rejoin.members.length, 2);
  assert.equal(rejoin.generationId, 1);
});

Deno.test("a restarted static leader before v9 is told the old leader id so it does not assign", () => {
  const h = new Harness();
  const { a } = stableStaticGroup(h);
  const rejoin = h.join("a-restart", { groupInstanceId: "ia", apiVersion: 7 })!;
  assert.equal(rejoin.leader, a);
  assert.deepEqual(rejoin.members, []);
});

Deno.test("the fenced old instance of a static member gets FENCED_INSTANCE_ID", () => {
  const h = new Harness();
  const { b } = stableStaticGroup(h);
  const fresh = h.join("b-restart", { groupInstanceId: "ib" })!;
  assert.equal(h.heartbeat(b, 1, "ib"), E.FENCED_INSTANCE_ID);
  assert.equal(h.heartbeat(fresh.memberId, 1, "ib"), E.NONE);
  assert.equal(h.sync("old-sync", { memberId: b, groupInstanceId: "ib" })?.errorCode, 82);
  assert.equal(h.join("old-join", { memberId: b, groupInstanceId: "ib" })?.errorCode, 82);
  const commit = h.commit("old-commit", {
    memberId: b,
    groupInstanceId: "ib",
    generationIdOrMemberEpoch: 1,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 5,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      }],
    }],
  });
  assert.equal(commit!.topics[0]!.partitions[0]!.errorCode, E.FENCED_INSTANCE_ID);
});

Deno.test("a static member rejoining with changed metadata triggers a rebalance", () => {
  const h = new Harness();
  stableStaticGroup(h);
  h.join("b-restart", { groupInstanceId: "ib", protocols: consumerProtocols(["t", "u"]) });
  assert.equal(h.coordinator.group("g")?.state, "PreparingRebalance");
});

Deno.test("static members that miss a rebalance keep their seat until their session expires", () => {
  const h = new Harness();
  const { a, b } = stableStaticGroup(h);
  h.join("a-rejoin", { memberId: a, groupInstanceId: "ia" }); // leader forces a rebalance
  for (let i = 0; i < 10; i++) {
    h.advance(3000);
    h.heartbeat(b, 1, "ib"); // alive (REBALANCE_IN_PROGRESS), but never rejoins
  }
  // The rebalance timeout passed: b did not rejoin, but as a static member it stays.
  const joinA = h.joinResult("a-rejoin")!;
  assert.deepEqual(joinA.members.map((m) => m.memberId), [a, b]);
});

Deno.test("LeaveGroup v0-2 removes one member and rebalances the rest", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  h.run(
    h.coordinator.leaveGroup(
      "leave",
      { apiVersion: 1, groupId: "g", memberId: b, members: [] },
      h.nowMs,
    ),
  );
  const leave = h.take("leave");
  assert.deepEqual(leave, {
    api: "LeaveGroup",
    response: { errorCode: 0, members: [{ memberId: b, groupInstanceId: null, errorCode: 0 }] },
  });
  assert.equal(h.heartbeat(a, 1), E.REBALANCE_IN_PROGRESS);
  h.run(
    h.coordinator.leaveGroup(
      "again",
      { apiVersion: 1, groupId: "g", memberId: b, members: [] },
      h.nowMs,
    ),
  );
  assert.equal((h.take("again")!.response as { errorCode: number }).errorCode, E.UNKNOWN_MEMBER_ID);
});

Deno.test("LeaveGroup v3+ removes members in a batch with per-member errors", () => {
  // KIP-345: static members can be removed by group.instance.id alone (empty member id).
  const h = new Harness();
  const { a, b } = stableStaticGroup(h);
  h.holdAppends = true;
  h.run(h.coordinator.leaveGroup("leave", {
    apiVersion: 5,
    groupId: "g",
    memberId: "",
    members: [
      { memberId: "", groupInstanceId: "ib" },
      { memberId: "wrong", groupInstanceId: "ia" },
      { memberId: "", groupInstanceId: "unknown" },
      { memberId: a, groupInstanceId: "ia" },
    ],
  }, h.nowMs));
  // The group is now empty: its new empty generation is persisted before the answer.
  assert.equal(h.take("leave"), undefined);
  h.releaseAppends();
  const leave = h.take("leave");
  assert.equal(leave?.api, "LeaveGroup");
  assert.deepEqual(
    (leave!.response as { members: { errorCode: number }[] }).members.map((m) => m.errorCode),
    [E.NONE, E.FENCED_INSTANCE_ID, E.UNKNOWN_MEMBER_ID, E.NONE],
  );
  const view = h.coordinator.group("g")!;
  assert.equal(view.state, "Empty");
  assert.equal(view.generationId, 2);
  assert.equal(h.heartbeat(b, 1, "ib"), E.UNKNOWN_MEMBER_ID);
});

const partition = (partitionIndex: number, committedOffset: number, committedMetadata = "") => ({
  partitionIndex,
  committedOffset,
  committedLeaderEpoch: 3,
  committedMetadata,
});

Deno.test("a member commits offsets and fetches them back once the commit is durable", () => {
  const h = new Harness();
  const { a } = stableGroupOfTwo(h);
  h.holdAppends = true;
  const early = h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 42, "m"), partition(1, 7)] }],
  });
  assert.equal(early, undefined); // persist, then respond
  assert.deepEqual(h.log.at(-1), {
    type: "offsetCommit",
    keyVersion: 1,
    valueVersion: 3,
    key: { group: "g", topic: "t", partition: 1 },
    value: {
      offset: 7,
      leaderEpoch: 3,
      metadata: "",
      commitTimestamp: h.nowMs,
      expireTimestamp: -1,
    },
  });
  h.releaseAppends();
  assert.deepEqual(h.commitResult("c"), {
    topics: [{
      name: "t",
      partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 0 }],
    }],
  });
  const listed = h.coordinator.offsetFetch({
    groupId: "g",
    topics: [{ name: "t", partitionIndexes: [0, 2] }],
    requireStable: true,
  });
  assert.deepEqual(listed.topics[0]!.partitions, [
    {
      partitionIndex: 0,
      committedOffset: 42,
      committedLeaderEpoch: 3,
      metadata: "m",
      errorCode: 0,
    },
    {
      partitionIndex: 2,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: 0,
    },
  ]);
  const all = h.coordinator.offsetFetch({ groupId: "g", topics: null, requireStable: false });
  assert.deepEqual(all.topics.map((t) => t.partitions.map((p) => p.committedOffset)), [[42, 7]]);
});

Deno.test("a commit with a stale generation gets ILLEGAL_GENERATION", () => {
  const h = new Harness();
  const { a } = stableGroupOfTwo(h);
  const result = h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 0,
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  assert.equal(result!.topics[0]!.partitions[0]!.errorCode, E.ILLEGAL_GENERATION);
  const unknown = h.commit("d", {
    memberId: "nobody",
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  assert.equal(unknown!.topics[0]!.partitions[0]!.errorCode, E.UNKNOWN_MEMBER_ID);
});

Deno.test("simple commits need no membership but are refused while the group has members", () => {
  const h = new Harness();
  const simple = h.commit("c", {
    groupId: "standalone",
    topics: [{ name: "t", partitions: [partition(0, 9)] }],
  });
  assert.equal(simple!.topics[0]!.partitions[0]!.errorCode, E.NONE);
  assert.equal(h.coordinator.group("standalone")?.state, "Empty");
  stableGroupOfTwo(h);
  const refused = h.commit("d", { topics: [{ name: "t", partitions: [partition(0, 1)] }] });
  assert.equal(refused!.topics[0]!.partitions[0]!.errorCode, E.UNKNOWN_MEMBER_ID);
  const noGroup = h.commit("e", {
    groupId: "missing",
    memberId: "m",
    generationIdOrMemberEpoch: 3,
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  assert.equal(noGroup!.topics[0]!.partitions[0]!.errorCode, E.ILLEGAL_GENERATION);
});

Deno.test("commits during CompletingRebalance get REBALANCE_IN_PROGRESS", () => {
  const h = new Harness();
  const a = h.joinDynamic("a-join");
  h.advance(3000);
  const result = h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  assert.equal(result!.topics[0]!.partitions[0]!.errorCode, E.REBALANCE_IN_PROGRESS);
});

Deno.test("oversized offset metadata is refused per partition", () => {
  const h = new Harness({ offsetMetadataMaxBytes: 4 });
  const result = h.commit("c", {
    topics: [{ name: "t", partitions: [partition(0, 1, "12345"), partition(1, 2, "1234")] }],
  });
  assert.deepEqual(result!.topics[0]!.partitions.map((p) => p.errorCode), [
    E.OFFSET_METADATA_TOO_LARGE,
    E.NONE,
  ]);
});

Deno.test("loading the records rebuilds offsets and group metadata", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 42, "m")] }],
  });
  h.commit("s", { groupId: "simple", topics: [{ name: "u", partitions: [partition(3, 8)] }] });

  const restarted = new Harness();
  restarted.nowMs = h.nowMs;
  restarted.coordinator.load(h.log, h.nowMs);
  const before = h.coordinator.group("g")!;
  const after = restarted.coordinator.group("g")!;
  assert.deepEqual(
    { ...after, members: after.members.map((m) => ({ ...m })) },
    { ...before, members: before.members.map((m) => ({ ...m })) },
  );
  for (const groupId of ["g", "simple"]) {
    assert.deepEqual(
      restarted.coordinator.offsetFetch({ groupId, topics: null, requireStable: false }),
      h.coordinator.offsetFetch({ groupId, topics: null, requireStable: false }),
    );
  }
  // Members can carry on with the loaded generation...
  assert.equal(restarted.heartbeat(a, 1), E.NONE);
  const sync = restarted.sync("s", { memberId: b });
  assert.deepEqual(sync?.assignment, assignmentFor(1));
  // ...and members that are gone expire through their session timeouts.
  restarted.advance(10_000);
  restarted.advance(30_000);
  const view = restarted.coordinator.group("g")!;
  assert.equal(view.state, "Empty");
  assert.equal(view.generationId, 2);
});

Deno.test("offsets of an Empty group expire offsets.retention.minutes after it emptied", () => {
  const h = new Harness({ offsetsRetentionMinutes: 1, offsetsRetentionCheckIntervalMs: 1000 });
  const { a, b } = stableGroupOfTwo(h);
  h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 42)] }],
  });
  for (const memberId of [a, b]) {
    h.run(
      h.coordinator.leaveGroup("l", {
        apiVersion: 3,
        groupId: "g",
        memberId: "",
        members: [{ memberId, groupInstanceId: null }],
      }, h.nowMs),
    );
  }
  assert.equal(h.coordinator.group("g")?.state, "Empty");
  const emptiedAt = h.nowMs;
  h.advance(59_000);
  assert.equal(h.coordinator.group("g")?.offsetCount, 1);
  h.advance(1000);
  assert.equal(h.nowMs - emptiedAt, 60_000);
  assert.equal(h.coordinator.group("g"), undefined);
  const tail = h.log.slice(-2);
  assert.deepEqual(tail.map((r) => [r.type, r.value]), [["offsetCommit", null], [
    "groupMetadata",
    null,
  ]]);
});

Deno.test("a stable consumer group keeps subscribed offsets but loses unsubscribed ones", () => {
  const h = new Harness({ offsetsRetentionMinutes: 1, offsetsRetentionCheckIntervalMs: 1000 });
  const { a, b } = stableGroupOfTwo(h);
  h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 1)] }, {
      name: "old",
      partitions: [partition(0, 2)],
    }],
  });
  for (let i = 0; i < 30; i++) {
    h.advance(3000);
    h.heartbeat(a, 1);
    h.heartbeat(b, 1);
  }
  const all = h.coordinator.offsetFetch({ groupId: "g", topics: null, requireStable: false });
  assert.deepEqual(all.topics.map((t) => t.name), ["t"]);
});

Deno.test("a commit with a retention time expires at its own expire timestamp", () => {
  const h = new Harness({ offsetsRetentionCheckIntervalMs: 1000 });
  h.commit("c", {
    apiVersion: 2,
    retentionTimeMs: 5000,
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  assert.equal(h.log[0]?.type === "offsetCommit" && h.log[0].valueVersion, 1);
  h.advance(4000);
  assert.equal(h.coordinator.group("g")?.offsetCount, 1);
  h.advance(1000);
  assert.equal(h.coordinator.group("g"), undefined);
});

Deno.test("a retention of Long.MAX_VALUE keeps the offset instead of overflowing its expire timestamp", () => {
  const h = new Harness({ offsetsRetentionCheckIntervalMs: 1000 });
  h.commit("c", {
    apiVersion: 2,
    retentionTimeMs: Number(9223372036854775807n),
    topics: [{ name: "t", partitions: [partition(0, 1)] }],
  });
  const record = h.log[0];
  assert.ok(record?.type === "offsetCommit" && record.value !== null);
  assert.equal(record.value.expireTimestamp, Number.MAX_SAFE_INTEGER);
  h.advance(365 * 24 * 3600 * 1000);
  assert.equal(h.coordinator.group("g")?.offsetCount, 1);
});

Deno.test("OffsetDelete refuses topics a consumer group subscribes to", () => {
  const h = new Harness();
  const { a } = stableGroupOfTwo(h);
  h.commit("c", {
    memberId: a,
    generationIdOrMemberEpoch: 1,
    topics: [{ name: "t", partitions: [partition(0, 1)] }, {
      name: "old",
      partitions: [partition(0, 2)],
    }],
  });
  h.run(h.coordinator.offsetDelete("d", {
    groupId: "g",
    topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }, {
      name: "old",
      partitions: [{ partitionIndex: 0 }],
    }],
  }, h.nowMs));
  assert.deepEqual(h.take("d"), {
    api: "OffsetDelete",
    response: {
      errorCode: 0,
      topics: [
        { name: "t", partitions: [{ partitionIndex: 0, errorCode: E.GROUP_SUBSCRIBED_TO_TOPIC }] },
        { name: "old", partitions: [{ partitionIndex: 0, errorCode: E.NONE }] },
      ],
    },
  });
  assert.equal(h.coordinator.group("g")?.offsetCount, 1);
  h.run(h.coordinator.offsetDelete("m", { groupId: "missing", topics: [] }, h.nowMs));
  assert.equal((h.take("m")!.response as { errorCode: number }).errorCode, E.GROUP_ID_NOT_FOUND);
});

Deno.test("DeleteGroups deletes only Empty groups and writes tombstones first", () => {
  const h = new Harness();
  stableGroupOfTwo(h);
  h.commit("c", { groupId: "simple", topics: [{ name: "t", partitions: [partition(0, 1)] }] });
  h.holdAppends = true;
  h.run(h.coordinator.deleteGroups("d", ["g", "simple", "missing"], h.nowMs));
  assert.equal(h.take("d"), undefined);
  assert.deepEqual(h.log.slice(-2).map((r) => [r.type, r.key]), [
    ["offsetCommit", { group: "simple", topic: "t", partition: 0 }],
    ["groupMetadata", { group: "simple" }],
  ]);
  h.releaseAppends();
  assert.deepEqual(h.take("d"), {
    api: "DeleteGroups",
    response: {
      results: [
        { groupId: "g", errorCode: E.NON_EMPTY_GROUP },
        { groupId: "simple", errorCode: E.NONE },
        { groupId: "missing", errorCode: E.GROUP_ID_NOT_FOUND },
      ],
    },
  });
  assert.equal(h.coordinator.group("simple"), undefined);
});

Deno.test("ListGroups filters by state and DescribeGroups shows members of a Stable group", () => {
  const h = new Harness();
  const { a, b } = stableGroupOfTwo(h);
  h.commit("c", { groupId: "simple", topics: [{ name: "t", partitions: [partition(0, 1)] }] });
  assert.deepEqual(h.coordinator.listGroups({ statesFilter: ["stable"] }).groups, [
    { groupId: "g", protocolType: "consumer", groupState: "Stable", groupType: "classic" },
  ]);
  assert.equal(h.coordinator.listGroups({ statesFilter: [] }).groups.length, 2);
  assert.equal(
    h.coordinator.listGroups({ statesFilter: [], typesFilter: ["consumer"] }).groups.length,
    0,
  );
  const [described, missing] = h.coordinator.describeGroups(["g", "nope"]);
  assert.equal(described?.groupState, "Stable");
  assert.equal(described?.protocolData, "range");
  assert.deepEqual(described?.members.map((m) => [m.memberId, m.clientId, m.memberAssignment]), [
    [a, "a", assignmentFor(0)],
    [b, "b", assignmentFor(1)],
  ]);
  assert.equal(missing?.groupState, "Dead");
});

Deno.test("unload answers parked requests with NOT_COORDINATOR", () => {
  const h = new Harness();
  h.joinDynamic("a-join");
  h.run(h.coordinator.unload());
  assert.equal(h.joinResult("a-join")?.errorCode, E.NOT_COORDINATOR);
  assert.deepEqual(h.coordinator.groupIds(), []);
});

Deno.test("nextDeadlineMs points at the next timer", () => {
  const h = new Harness();
  h.joinDynamic("a-join");
  assert.equal(h.coordinator.nextDeadlineMs(), 3000);
});
