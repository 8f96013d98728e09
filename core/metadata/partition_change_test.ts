import assert from "node:assert/strict";
import type { PartitionRegistration } from "./image.ts";
import { buildPartitionChange, type PartitionChangeInput } from "./partition_change.ts";

const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";

function partition(init: Partial<PartitionRegistration>): PartitionRegistration {
  return {
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    removingReplicas: [],
    addingReplicas: [],
    directories: [],
    leader: 1,
    leaderRecoveryState: 0,
    leaderEpoch: 5,
    partitionEpoch: 9,
    eligibleLeaderReplicas: [],
    lastKnownElr: [],
    ...init,
  };
}

function change(
  p: PartitionRegistration,
  live: number[],
  options: Partial<PartitionChangeInput> = {},
) {
  return buildPartitionChange({
    topicId: TOPIC_ID,
    partitionId: 0,
    partition: p,
    isAcceptableLeader: (r) => live.includes(r),
    metadataVersion: 21,
    ...options,
  });
}

Deno.test("a leader that is still an acceptable ISR member keeps leading", () => {
  assert.equal(change(partition({}), [1, 2, 3]), null);
  const shrink = change(partition({}), [1, 2, 3], { targetIsr: [1, 2] });
  assert.equal(shrink!.leader, -2);
  assert.deepEqual(shrink!.isr, [1, 2]);
});

Deno.test("a new leader comes only from the ISR, in replica order", () => {
  const p = partition({ replicas: [1, 2, 3], isr: [1, 3] });
  const r = change(p, [2, 3], { targetIsr: [3] });
  assert.equal(r!.leader, 3); // broker 2 is live but out of sync: never a clean leader
  assert.deepEqual(r!.isr, [3]);
});

Deno.test("with no acceptable ISR member the partition goes offline and keeps its ISR", () => {
  // Kafka without ELR: the ISR is never emptied, so the last member can come back as leader.
  const p = partition({ isr: [1] });
  const r = change(p, [2, 3], { targetIsr: [] });
  assert.equal(r!.leader, -1);
  assert.equal(r!.isr, null);
  assert.equal(r!.leaderRecoveryState, -1);
});

Deno.test("an unclean election picks a live replica, resets the ISR to it and marks it RECOVERING", () => {
  // KIP-704: leaderRecoveryState RECOVERING until the new leader confirms its log.
  const p = partition({ isr: [1] });
  const r = change(p, [3, 2], { targetIsr: [], election: "unclean" });
  assert.equal(r!.leader, 2); // first acceptable replica in replica order
  assert.deepEqual(r!.isr, [2]);
  assert.equal(r!.leaderRecoveryState, 1);
});

Deno.test("an unclean election still prefers a live ISR member", () => {
  const p = partition({ isr: [1, 3] });
  const r = change(p, [2, 3], { targetIsr: [3], election: "unclean" });
  assert.equal(r!.leader, 3);
  assert.deepEqual(r!.isr, [3]);
  assert.equal(r!.leaderRecoveryState, -1);
});

Deno.test("before metadata.version 3.2-IV0 an unclean election cannot mark RECOVERING", () => {
  const p = partition({ isr: [1] });
  const r = change(p, [2], { targetIsr: [], election: "unclean", metadataVersion: 2 });
  assert.equal(r!.leader, 2);
  assert.equal(r!.leaderRecoveryState, -1);
});

Deno.test("a preferred election moves leadership to the first replica only if it is in sync", () => {
  const p = partition({ leader: 2 });
  assert.equal(change(p, [1, 2, 3], { election: "preferred" })!.leader, 1);
  const outOfSync = partition({ leader: 2, isr: [2, 3] });
  assert.equal(change(outOfSync, [1, 2, 3], { election: "preferred" }), null);
  const dead = partition({ leader: 2 });
  assert.equal(change(dead, [2, 3], { election: "preferred" }), null);
});

Deno.test("an ISR shrink bumps the leader epoch only before 3.6-IV0, an expansion never", () => {
  // KAFKA-15021
  const p = partition({ isr: [1, 2] });
  assert.equal(change(p, [1, 2, 3], { targetIsr: [1], metadataVersion: 11 })!.leader, 1);
  assert.equal(change(p, [1, 2, 3], { targetIsr: [1], metadataVersion: 12 })!.leader, -2);
  assert.equal(change(p, [1, 2, 3], { targetIsr: [1, 2, 3], metadataVersion: 11 })!.leader, -2);
});

Deno.test("a recovering leader that reports RECOVERED changes only the recovery state", () => {
  const p = partition({ isr: [2], leader: 2, leaderRecoveryState: 1 });
  const r = change(p, [1, 2, 3], { targetIsr: [2], targetLeaderRecoveryState: 0 });
  assert.equal(r!.leaderRecoveryState, 0);
  assert.equal(r!.isr, null);
  assert.equal(r!.leader, -2);
});
