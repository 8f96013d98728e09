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

// KIP-966: Eligible Leader Replicas, as Kafka 4.x's PartitionChangeBuilder.
const ELR = { eligibleLeaderReplicasEnabled: true, minIsr: 2 } as const;

Deno.test("with ELR, a replica leaving an ISR below min ISR becomes eligible to lead", () => {
  const r = change(partition({ isr: [1, 2] }), [1, 3], { ...ELR, targetIsr: [1] });
  assert.deepEqual(r!.isr, [1]);
  assert.deepEqual(r!.eligibleLeaderReplicas, [2]);
  assert.equal(r!.lastKnownElr, null);
  assert.equal(r!.leader, -2);
});

Deno.test("with ELR, a shrink that stays at min ISR leaves no eligible replica", () => {
  const r = change(partition({}), [1, 2], { ...ELR, targetIsr: [1, 2] });
  assert.deepEqual(r!.isr, [1, 2]);
  assert.equal(r!.eligibleLeaderReplicas, null);
});

Deno.test("with ELR, the ISR may become empty and the last leader is remembered", () => {
  // The last ISR member is fenced: it holds every committed record, so it stays eligible.
  const p = partition({ isr: [1], eligibleLeaderReplicas: [2] });
  const r = change(p, [3], { ...ELR, targetIsr: [] });
  assert.equal(r!.leader, -1);
  assert.deepEqual(r!.isr, []);
  assert.deepEqual(r!.eligibleLeaderReplicas, [2, 1]);
  assert.deepEqual(r!.lastKnownElr, [1]);
});

Deno.test("with ELR and an empty ISR, an acceptable ELR member leads cleanly and becomes the ISR", () => {
  const p = partition({ isr: [], leader: -1, eligibleLeaderReplicas: [2, 1], lastKnownElr: [1] });
  const r = change(p, [2, 3], { ...ELR });
  assert.equal(r!.leader, 2);
  assert.deepEqual(r!.isr, [2]);
  assert.deepEqual(r!.eligibleLeaderReplicas, [1]);
  assert.deepEqual(r!.lastKnownElr, []);
  assert.equal(r!.leaderRecoveryState, -1); // a clean election: nothing to recover
});

Deno.test("an ELR member never leads while an ISR member exists, even a dead one", () => {
  // The ISR member may hold records the ELR member lacks only if the HW moved, which it cannot
  // below min ISR; but Kafka still prefers the ISR and keeps the partition offline meanwhile.
  const p = partition({ isr: [1], leader: -1, eligibleLeaderReplicas: [2] });
  const r = change(p, [2], { ...ELR });
  assert.equal(r, null);
});

Deno.test("with ELR off, an empty ISR keeps its last member and no ELR is written", () => {
  const p = partition({ isr: [1] });
  const r = change(p, [3], { eligibleLeaderReplicasEnabled: false, minIsr: 2, targetIsr: [] });
  assert.equal(r!.leader, -1);
  assert.equal(r!.isr, null);
  assert.equal(r!.eligibleLeaderReplicas, null);
});

Deno.test("with ELR off, eligibility left from an earlier level is cleared at the next change", () => {
  const p = partition({ isr: [1, 2], eligibleLeaderReplicas: [3], lastKnownElr: [3] });
  const r = change(p, [1, 2, 3], { targetIsr: [1, 2, 3] });
  assert.deepEqual(r!.eligibleLeaderReplicas, []);
  assert.deepEqual(r!.lastKnownElr, []);
});

Deno.test("with ELR, a replica that shut down uncleanly leaves the ELR", () => {
  // KIP-966: a broker that re-registers without proof of a clean shutdown may have lost
  // unflushed records, so it is no longer a safe leader.
  const p = partition({ isr: [1], eligibleLeaderReplicas: [2, 3] });
  const r = change(p, [1, 2, 3], { ...ELR, uncleanShutdownReplicas: [2] });
  assert.deepEqual(r!.eligibleLeaderReplicas, [3]);
  assert.equal(r!.leader, -2);
});

Deno.test("with ELR, an ISR back at min ISR clears both lists", () => {
  const p = partition({ isr: [1], eligibleLeaderReplicas: [2], lastKnownElr: [] });
  const r = change(p, [1, 2, 3], { ...ELR, targetIsr: [1, 3] });
  assert.deepEqual(r!.isr, [1, 3]);
  assert.deepEqual(r!.eligibleLeaderReplicas, []);
});

Deno.test("with ISR and ELR empty, the last known leader leads again as RECOVERING once back", () => {
  // Kafka 4.x's balanced recovery: as before ELR, when the last ISR member was kept in the ISR.
  const p = partition({ isr: [], leader: -1, eligibleLeaderReplicas: [], lastKnownElr: [1] });
  assert.equal(change(p, [2, 3], { ...ELR }), null); // it is not back: nobody else may lead
  const r = change(p, [1, 2, 3], { ...ELR });
  assert.equal(r!.leader, 1);
  assert.deepEqual(r!.isr, [1]);
  assert.equal(r!.leaderRecoveryState, 1);
  assert.deepEqual(r!.lastKnownElr, []);
});

Deno.test("an unclean election needs the topic's consent and no live ISR, ELR or last leader", () => {
  // KIP-966's "proactive" recovery, which unclean.leader.election.enable maps to in Kafka 4.x:
  // only when no ISR or ELR member (nor the remembered leader) can lead.
  const p = partition({ isr: [], leader: -1, eligibleLeaderReplicas: [2], lastKnownElr: [1] });
  assert.equal(change(p, [3], { ...ELR }), null);
  assert.equal(change(p, [2, 3], { ...ELR, election: "unclean" })!.leader, 2); // clean, from ELR
  const r = change(p, [3], { ...ELR, election: "unclean" });
  assert.equal(r!.leader, 3);
  assert.deepEqual(r!.isr, [3]);
  assert.equal(r!.leaderRecoveryState, 1);
  assert.deepEqual(r!.eligibleLeaderReplicas, []); // an unclean leader makes every eligibility void
  assert.deepEqual(r!.lastKnownElr, []);
});
