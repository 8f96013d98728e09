import assert from "node:assert/strict";
import { preferredReadReplica, type ReadReplicaCandidate } from "./replica_selector.ts";

function follower(replicaId: number, overrides: Partial<ReadReplicaCandidate> = {}) {
  return {
    replicaId,
    logEndOffset: 100,
    lastCaughtUpTimeMs: 1_000,
    inIsr: true,
    alive: true,
    rack: `rack-${replicaId}`,
    ...overrides,
  };
}

const base = { fetchOffset: 50, leaderRack: "rack-1", nowMs: 2_000 };

Deno.test("a consumer without a rack, or in the leader's rack, reads from the leader", () => {
  const followers = [follower(2), follower(3)];
  assert.equal(preferredReadReplica({ ...base, clientRack: "", followers }), -1);
  assert.equal(preferredReadReplica({ ...base, clientRack: "rack-1", followers }), -1);
  // The leader wins in its rack even when a follower there is as caught up.
  assert.equal(
    preferredReadReplica({
      ...base,
      clientRack: "rack-1",
      followers: [follower(2, { rack: "rack-1" })],
    }),
    -1,
  );
});

Deno.test("a consumer in a follower's rack is sent to that follower", () => {
  const followers = [follower(2), follower(3)];
  assert.equal(preferredReadReplica({ ...base, clientRack: "rack-2", followers }), 2);
  assert.equal(preferredReadReplica({ ...base, clientRack: "rack-3", followers }), 3);
  assert.equal(preferredReadReplica({ ...base, clientRack: "rack-9", followers }), -1);
});

Deno.test("only followers that can serve the offset now are candidates", () => {
  const at = (f: ReadReplicaCandidate) =>
    preferredReadReplica({ ...base, clientRack: "rack-2", followers: [f] });
  assert.equal(at(follower(2, { inIsr: false })), -1);
  assert.equal(at(follower(2, { alive: false })), -1);
  assert.equal(at(follower(2, { logEndOffset: 49 })), -1); // behind the fetch offset
  assert.equal(at(follower(2, { logEndOffset: 50 })), 2); // at it: the fetch waits there
  assert.equal(at(follower(2, { logEndOffset: -1 })), -1); // never fetched
});

Deno.test("among followers of one rack the most caught-up one is chosen, as Kafka orders them", () => {
  const rack = "rack-x";
  const pick = (followers: ReadReplicaCandidate[]) =>
    preferredReadReplica({ ...base, clientRack: rack, followers });
  assert.equal(
    pick([follower(2, { rack, logEndOffset: 90 }), follower(3, { rack, logEndOffset: 95 })]),
    3,
  );
  assert.equal(
    pick([
      follower(2, { rack, lastCaughtUpTimeMs: 1_900 }),
      follower(3, { rack, lastCaughtUpTimeMs: 1_500 }),
    ]),
    2,
  );
  assert.equal(pick([follower(3, { rack }), follower(2, { rack })]), 3); // a tie: the higher id
});
