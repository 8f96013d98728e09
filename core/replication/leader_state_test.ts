import assert from "node:assert/strict";
import { LeaderState } from "./leader_state.ts";

function leader(isr = [1, 2, 3], highWatermark = 0): LeaderState {
  return new LeaderState({
    localId: 1,
    replicas: [1, 2, 3],
    isr,
    leaderEpoch: 5,
    partitionEpoch: 7,
    highWatermark,
    leaderEpochStartOffset: 10,
    nowMs: 1_000,
  });
}

const fetch = (fetchOffset: number, nowMs: number, leaderEndOffset: number) => ({
  fetchOffset,
  nowMs,
  leaderEndOffset,
  brokerEpoch: 3n,
});

Deno.test("the high watermark is the smallest log end of the ISR, the leader's counted as durable", () => {
  const s = leader([1, 2, 3], 10);
  s.updateLocalEnd(20);
  assert.equal(s.highWatermark, 10, "followers that never fetched hold it where it was");
  s.updateFollower(2, fetch(15, 1_001, 20));
  assert.equal(s.highWatermark, 10);
  s.updateFollower(3, fetch(18, 1_002, 20));
  assert.equal(s.highWatermark, 15);
  s.updateFollower(2, fetch(20, 1_003, 20));
  assert.equal(s.highWatermark, 18);
});

Deno.test("the high watermark never moves back within an epoch", () => {
  const s = leader([1, 2], 0);
  s.updateLocalEnd(30);
  s.updateFollower(2, fetch(30, 1_001, 30));
  assert.equal(s.highWatermark, 30);
  s.updateFollower(2, fetch(25, 1_002, 30)); // a stale or truncated follower report
  assert.equal(s.highWatermark, 30);
});

Deno.test("an ISR of only the leader commits at its durable end", () => {
  const s = leader([1], 0);
  assert.equal(s.updateLocalEnd(12), true);
  assert.equal(s.highWatermark, 12);
});

Deno.test("a pending shrink still counts the removed member; a pending expansion counts the new one (KIP-497)", () => {
  const s = leader([1, 2], 0);
  s.updateLocalEnd(50);
  s.updateFollower(2, fetch(50, 1_001, 50));
  s.updateFollower(3, fetch(40, 1_001, 50));
  s.proposeIsr([1, 2, 3]);
  assert.deepEqual([...s.maximalIsr].sort(), [1, 2, 3]);
  s.updateLocalEnd(60);
  s.updateFollower(2, fetch(60, 1_002, 60));
  assert.equal(
    s.highWatermark,
    50,
    "joining follower 3 (at 40) holds the HW at the 50 it had reached",
  );
  s.completeIsrChange({ isr: [1, 2], partitionEpoch: 8 });
  assert.deepEqual(s.isr, [1, 2]);
  s.updateLocalEnd(60);
  assert.equal(s.highWatermark, 60);
});

Deno.test("a follower joins the ISR once it reached the high watermark and the epoch start, if eligible", () => {
  const s = leader([1, 2], 0);
  s.updateLocalEnd(20);
  s.updateFollower(2, fetch(20, 1_001, 20));
  s.updateFollower(3, fetch(9, 1_001, 20));
  assert.equal(s.isrChange(1_001, 30_000), null, "below the epoch start offset 10");
  s.updateFollower(3, fetch(20, 1_002, 20));
  assert.equal(s.isrChange(1_002, 30_000, () => false), null, "a fenced broker may not join");
  assert.deepEqual(s.isrChange(1_002, 30_000), [1, 2, 3]);
  s.proposeIsr([1, 2, 3]);
  assert.equal(s.isrChange(1_003, 30_000), null, "one change in flight at a time");
});

Deno.test("an ISR member that has not caught up for replica.lag.time.max.ms is shrunk away", () => {
  const s = leader([1, 2, 3], 0);
  s.updateLocalEnd(10);
  s.updateFollower(2, fetch(10, 1_500, 10));
  s.updateFollower(3, fetch(10, 1_500, 10));
  s.updateLocalEnd(30);
  s.updateFollower(2, fetch(30, 5_000, 30));
  s.updateFollower(3, fetch(12, 5_000, 30)); // fetching, but behind since 1_500
  assert.equal(s.isrChange(5_000, 10_000), null);
  assert.deepEqual(s.isrChange(11_501, 10_000), [1, 2]);
});

Deno.test("acks=all completes at the high watermark, with NOT_ENOUGH_REPLICAS_AFTER_APPEND below min.insync.replicas", () => {
  const s = leader([1, 2], 0);
  assert.equal(s.checkMinIsr(2), 0);
  assert.equal(s.checkMinIsr(3), 19);
  s.updateLocalEnd(5);
  assert.deepEqual(s.ackOutcome(5, 2), { done: false });
  s.updateFollower(2, fetch(5, 1_001, 5));
  assert.deepEqual(s.ackOutcome(5, 2), { done: true, errorCode: 0 });
  s.completeIsrChange({ isr: [1], partitionEpoch: 8 });
  assert.deepEqual(s.ackOutcome(5, 2), { done: true, errorCode: 20 });
});

Deno.test("an answer for an older partition epoch does not roll the ISR back", () => {
  const s = leader([1, 2, 3], 0);
  s.updateRegistration({ replicas: [1, 2, 3], isr: [1, 2], partitionEpoch: 9 }, 2_000);
  s.completeIsrChange({ isr: [1, 2, 3], partitionEpoch: 8 });
  assert.deepEqual(s.isr, [1, 2]);
  assert.equal(s.partitionEpoch, 9);
});

Deno.test("below min.insync.replicas the high watermark does not move (strict min ISR, KIP-966)", () => {
  // A replica that left the ISR then still holds every committed record: it may lead (ELR).
  const s = new LeaderState({
    localId: 1,
    replicas: [1, 2, 3],
    isr: [1],
    leaderEpoch: 5,
    partitionEpoch: 7,
    highWatermark: 10,
    leaderEpochStartOffset: 10,
    nowMs: 1_000,
    minInsyncReplicas: 2,
  });
  s.updateLocalEnd(20);
  assert.equal(s.highWatermark, 10, "an ISR of one is below min ISR 2");
  assert.equal(s.setMinInsyncReplicas(1), true, "lowering the minimum lets it move at once");
  assert.equal(s.highWatermark, 20);
  s.setMinInsyncReplicas(2);
  s.updateLocalEnd(25);
  assert.equal(s.highWatermark, 20);
  s.updateFollower(2, fetch(25, 1_001, 25));
  assert.equal(s.completeIsrChange({ isr: [1, 2], partitionEpoch: 8 }), true);
  assert.equal(s.highWatermark, 25, "back at min ISR it moves again");
});
