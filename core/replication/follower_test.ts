import assert from "node:assert/strict";
import { followerAction, type FollowerLogView, truncationOffset } from "./follower.ts";

/** A log whose epochs start at the given offsets (Kafka's leader-epoch-checkpoint). */
function logOf(end: number, epochs: [number, number][], start = 0): FollowerLogView {
  return {
    logStartOffset: start,
    logEndOffset: end,
    latestEpoch: () => epochs.at(-1)?.[0] ?? -1,
    endOffsetForEpoch: (requested) => {
      if (epochs.at(-1)?.[0] === requested) return { epoch: requested, endOffset: end };
      const higher = epochs.find(([e]) => e > requested);
      if (higher === undefined) return { epoch: -1, endOffset: -1 };
      const floor = epochs.findLast(([e]) => e <= requested);
      return { epoch: floor?.[0] ?? requested, endOffset: higher[1] };
    },
  };
}

const answer = (overrides: Partial<Parameters<typeof followerAction>[1]> = {}) => ({
  errorCode: 0,
  highWatermark: 10,
  logStartOffset: 0,
  divergingEpoch: null,
  recordsBytes: 0,
  ...overrides,
});

Deno.test("records are appended and the leader's offsets taken", () => {
  assert.deepEqual(followerAction(logOf(5, [[0, 0]]), answer({ recordsBytes: 100 }), 5), {
    kind: "append",
    highWatermark: 10,
    leaderLogStartOffset: 0,
  });
  assert.equal(followerAction(logOf(5, [[0, 0]]), answer(), 5).kind, "idle");
});

Deno.test("a diverging epoch truncates to where both logs agree (KIP-279)", () => {
  // Follower: epoch 1 from 0, epoch 2 from 8, end 12. Leader: epoch 2 ended at 10.
  const log = logOf(12, [[1, 0], [2, 8]]);
  assert.deepEqual(
    followerAction(log, answer({ divergingEpoch: { epoch: 2, endOffset: 10 } }), 12),
    { kind: "truncate", offset: 10 },
  );
  // Leader never had epoch 2: its epoch 1 ended at 6; ours at 8.
  assert.equal(truncationOffset(log, { epoch: 1, endOffset: 6 }), 6);
  // Ours ended first.
  assert.equal(truncationOffset(log, { epoch: 1, endOffset: 9 }), 8);
});

Deno.test("a follower with no epoch at or below the leader's truncates to its log start", () => {
  assert.equal(truncationOffset(logOf(12, [[4, 3]], 3), { epoch: 2, endOffset: 20 }), 3);
});

Deno.test("out of range below the leader's log start restarts there; past its end truncates to its high watermark", () => {
  const log = logOf(30, [[0, 0]], 0);
  assert.deepEqual(
    followerAction(log, answer({ errorCode: 1, logStartOffset: 50, highWatermark: 60 }), 30),
    { kind: "restartAt", offset: 50 },
  );
  assert.deepEqual(
    followerAction(log, answer({ errorCode: 1, logStartOffset: 0, highWatermark: 20 }), 30),
    { kind: "truncate", offset: 20 },
  );
});

Deno.test("other errors back off", () => {
  assert.deepEqual(followerAction(logOf(0, []), answer({ errorCode: 74 }), 0), {
    kind: "error",
    errorCode: 74,
  });
});
