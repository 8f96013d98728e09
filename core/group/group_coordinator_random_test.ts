import { strict as assert } from "node:assert";
import { SeededRandom } from "../random.ts";
import { encodeSubscriptionTopics } from "./consumer_protocol.ts";
import { GroupErrorCode as E } from "./error_codes.ts";
import { GroupCoordinator } from "./group_coordinator.ts";
import { randomMemberIdGenerator } from "./member_id.ts";
import type { GroupEffect, GroupResponse, JoinGroupResult } from "./types.ts";

type Phase = "idle" | "joining" | "syncing" | "stable" | "crashed" | "leaving";

interface Client {
  index: number;
  instanceId: string | null;
  memberId: string;
  generationId: number;
  phase: Phase;
  outstanding: string | null;
  assignment: Uint8Array | null;
}

/**
 * Many clients join, sync, heartbeat, commit, leave, crash and restart at random against one
 * coordinator whose appends complete late; after every step the invariants must hold: generations
 * never go back, the group has at most one leader (a member), a Stable group's members all hold
 * an assignment, only one client leads a generation, and every handle is answered exactly once.
 */
function simulate(seed: number, steps: number): void {
  const random = new SeededRandom(seed);
  const coordinator = new GroupCoordinator<string>({
    generateMemberId: randomMemberIdGenerator(random),
    config: { groupInitialRebalanceDelayMs: 500, offsetsRetentionCheckIntervalMs: 5000 },
  });
  const metadata = encodeSubscriptionTopics(["t"]);
  const protocols = [{ name: "range", metadata }];
  const clients: Client[] = Array.from({ length: 8 }, (_, index) => ({
    index,
    instanceId: index % 3 === 0 ? `instance-${index}` : null,
    memberId: "",
    generationId: -1,
    phase: "idle",
    outstanding: null,
    assignment: null,
  }));
  const outstanding = new Map<string, Client>();
  const heldAppends: number[] = [];
  const leadersByGeneration = new Map<number, number>();
  let nowMs = 0;
  let nextHandle = 0;
  let lastGeneration = 0;
  let stableWithManySteps = 0;

  const send = (client: Client, perform: (handle: string) => GroupEffect<string>[]) => {
    const handle = `h${nextHandle++}`;
    client.outstanding = handle;
    outstanding.set(handle, client);
    apply(perform(handle));
  };

  const join = (client: Client) => {
    client.phase = "joining";
    send(client, (handle) =>
      coordinator.joinGroup(handle, {
        apiVersion: random.intBelow(2) === 0 ? 9 : 7,
        groupId: "g",
        sessionTimeoutMs: 6000,
        rebalanceTimeoutMs: 8000,
        memberId: client.memberId,
        groupInstanceId: client.instanceId,
        protocolType: "consumer",
        protocols,
        clientId: `c${client.index}`,
        clientHost: "/10.0.0.1",
      }, nowMs));
  };

  const resetAndRejoin = (client: Client, keepMemberId: boolean) => {
    if (!keepMemberId) client.memberId = "";
    client.generationId = -1;
    client.assignment = null;
    join(client);
  };

  const onJoin = (client: Client, r: JoinGroupResult) => {
    if (r.errorCode === E.MEMBER_ID_REQUIRED) {
      client.memberId = r.memberId;
      return join(client);
    }
    if (r.errorCode === E.FENCED_INSTANCE_ID) return void (client.phase = "crashed");
    if (r.errorCode !== E.NONE) {
      return resetAndRejoin(client, r.errorCode === E.REBALANCE_IN_PROGRESS);
    }
    client.memberId = r.memberId;
    client.generationId = r.generationId;
    client.phase = "syncing";
    const leads = r.leader === r.memberId && !r.skipAssignment;
    if (r.leader === r.memberId) {
      const previous = leadersByGeneration.get(r.generationId);
      assert(
        previous === undefined || previous === client.index,
        `Generation ${r.generationId} has two leaders: clients ${previous} and ${client.index}.`,
      );
      leadersByGeneration.set(r.generationId, client.index);
    }
    send(client, (handle) =>
      coordinator.syncGroup(handle, {
        apiVersion: 5,
        groupId: "g",
        generationId: r.generationId,
        memberId: r.memberId,
        groupInstanceId: client.instanceId,
        protocolType: "consumer",
        protocolName: "range",
        assignments: leads
          ? r.members.map((m, i) => ({ memberId: m.memberId, assignment: new Uint8Array([i + 1]) }))
          : [],
      }, nowMs));
  };

  const onResponse = (client: Client, response: GroupResponse) => {
    if (client.phase === "crashed") return; // the process is gone; nobody reads the answer
    if (response.api === "JoinGroup") return onJoin(client, response.response);
    if (response.api === "SyncGroup") {
      const r = response.response;
      if (r.errorCode === E.NONE) {
        client.phase = "stable";
        client.assignment = r.assignment;
      } else if (r.errorCode === E.FENCED_INSTANCE_ID) {
        client.phase = "crashed";
      } else {
        resetAndRejoin(client, r.errorCode === E.REBALANCE_IN_PROGRESS);
      }
      return;
    }
    if (response.api === "LeaveGroup") {
      client.phase = "idle";
      client.memberId = "";
    }
    if (response.api === "OffsetCommit") client.phase = "stable";
  };

  function apply(effects: GroupEffect<string>[]): void {
    for (const effect of effects) {
      if (effect.type === "append") {
        // A log makes appends durable in order: once one waits, later ones queue behind it.
        if (heldAppends.length > 0 || random.intBelow(3) === 0) heldAppends.push(effect.appendId);
        else apply(coordinator.appendComplete(effect.appendId, nowMs));
        continue;
      }
      const client = outstanding.get(effect.handle);
      assert(client !== undefined, `Handle ${effect.handle} answered twice or never sent.`);
      outstanding.delete(effect.handle);
      // An answer to a request the client gave up on (it restarted) lands on a dead connection.
      if (client.outstanding !== effect.handle) continue;
      client.outstanding = null;
      const { type: _t, handle: _h, ...response } = effect;
      onResponse(client, response as GroupResponse);
    }
  }

  const releaseAppends = () => {
    while (heldAppends.length > 0) {
      apply(coordinator.appendComplete(heldAppends.shift()!, nowMs));
    }
  };

  const act = (client: Client) => {
    const roll = random.intBelow(100);
    if (client.phase === "crashed") {
      if (roll < 10) resetAndRejoin(client, false); // restart: static members come back by id
      return;
    }
    if (roll < 4) return void (client.phase = "crashed");
    if (client.phase === "idle") return join(client);
    if (client.phase !== "stable") return;
    if (roll < 8) {
      client.phase = "leaving";
      return send(client, (handle) =>
        coordinator.leaveGroup(handle, {
          apiVersion: 5,
          groupId: "g",
          memberId: "",
          members: [{ memberId: client.memberId, groupInstanceId: client.instanceId }],
        }, nowMs));
    }
    if (roll < 20) {
      return send(client, (handle) =>
        coordinator.offsetCommit(handle, {
          apiVersion: 8,
          groupId: "g",
          generationIdOrMemberEpoch: client.generationId,
          memberId: client.memberId,
          groupInstanceId: client.instanceId,
          retentionTimeMs: -1,
          topics: [{
            name: "t",
            partitions: [{
              partitionIndex: client.index,
              committedOffset: nowMs,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            }],
          }],
        }, nowMs));
    }
    const { errorCode } = coordinator.heartbeat({
      groupId: "g",
      generationId: client.generationId,
      memberId: client.memberId,
      groupInstanceId: client.instanceId,
    }, nowMs);
    if (errorCode === E.FENCED_INSTANCE_ID) client.phase = "crashed";
    else if (errorCode !== E.NONE) resetAndRejoin(client, errorCode === E.REBALANCE_IN_PROGRESS);
  };

  const checkInvariants = (step: number) => {
    const view = coordinator.group("g");
    if (view === undefined) return;
    const where = `seed ${seed} step ${step}`;
    assert(view.generationId >= lastGeneration, `Generation went back at ${where}.`);
    lastGeneration = view.generationId;
    const memberIds = view.members.map((m) => m.memberId);
    if (memberIds.length === 0) {
      assert.equal(view.leaderId, null, `Leader without members, ${where}.`);
    } else assert(memberIds.includes(view.leaderId!), `Leader is not a member at ${where}.`);
    if (view.state === "Stable") {
      if (view.members.length >= 2) stableWithManySteps++;
      for (const member of view.members) {
        assert(member.assignment.byteLength > 0, `Stable member without assignment at ${where}.`);
      }
    }
  };

  for (let step = 0; step < steps; step++) {
    nowMs += random.intBelow(1500);
    apply(coordinator.tick(nowMs));
    if (random.intBelow(2) === 0) releaseAppends();
    act(clients[random.intBelow(clients.length)]!);
    checkInvariants(step);
  }
  // Everyone stops: every parked request must still get its answer.
  for (const client of clients) client.phase = "crashed";
  for (let i = 0; i < 20; i++) {
    releaseAppends();
    nowMs += 5000;
    apply(coordinator.tick(nowMs));
    checkInvariants(steps + i);
  }
  assert.equal(outstanding.size, 0, `Seed ${seed} left requests unanswered.`);
  // The run must have exercised real rebalances, not just churned.
  assert(lastGeneration >= 5, `Seed ${seed} reached only generation ${lastGeneration}.`);
  assert(stableWithManySteps > 0, `Seed ${seed} never had a Stable group of two or more.`);
  assert.notEqual(coordinator.group("g")?.state, "Stable");
}

Deno.test("randomized joins, leaves and crashes keep the group invariants (seeded)", () => {
  for (let seed = 1; seed <= 40; seed++) simulate(seed, 600);
});
