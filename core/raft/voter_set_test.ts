import { strict as assert } from "node:assert";
import { majorityOf, VoterHistory } from "./voter_set.ts";
import { voterOf } from "./types.ts";

Deno.test("a majority is more than half of the voters", () => {
  // Raft §5.2
  assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3]);
});

Deno.test("the latest voters entry in the log sets the voter set, committed or not", () => {
  // KIP-853
  const voters = new VoterHistory([1, 2, 3].map(voterOf));
  const control = (offset: number, ids: number[]) => ({
    offset,
    epoch: 1,
    payload: new Uint8Array(),
    control: { type: "voters" as const, voters: ids.map(voterOf) },
  });
  voters.onAppend([control(3, [1, 2, 3, 4]), control(7, [1, 2, 4])]);
  assert.deepEqual([...voters.current()], [1, 2, 4]);
  voters.onTruncate(7);
  assert.deepEqual([...voters.current()], [1, 2, 3, 4]);
  voters.onAppend([control(9, [1, 2])]);
  voters.prune(10);
  assert.deepEqual([...voters.current()], [1, 2]);
  assert.equal(voters.lastChangeOffset(), 9);
});

Deno.test("kraft.version rises with a KRaftVersion entry and a snapshot that carries voters", () => {
  // KIP-853: voter changes need kraft.version 1
  const staticVoters = new VoterHistory([1].map(voterOf));
  assert.equal(staticVoters.kraftVersion, 0);
  staticVoters.onAppend([{
    offset: 0,
    epoch: 1,
    payload: new Uint8Array(),
    control: { type: "kraftVersion", kraftVersion: 1 },
  }]);
  assert.equal(staticVoters.kraftVersion, 1);
  const fromSnapshot = new VoterHistory([]);
  fromSnapshot.resetTo(10, [voterOf(2)]);
  assert.equal(fromSnapshot.kraftVersion, 1);
  assert.deepEqual(fromSnapshot.currentVoters().map((v) => v.id), [2]);
});
