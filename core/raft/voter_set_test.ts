import { strict as assert } from "node:assert";
import { majorityOf, VoterHistory } from "./voter_set.ts";

Deno.test("a majority is more than half of the voters", () => {
  // Raft §5.2
  assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3]);
});

Deno.test("the latest voters entry in the log sets the voter set, committed or not", () => {
  // KIP-853
  const voters = new VoterHistory([1, 2, 3]);
  const control = (offset: number, ids: number[]) => ({
    offset,
    epoch: 1,
    payload: new Uint8Array(),
    control: { type: "voters" as const, voters: ids },
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
