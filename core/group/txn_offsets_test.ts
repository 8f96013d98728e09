// TxnOffsetCommit (KIP-98, KIP-447): offsets committed inside a transaction are durable at once
// but visible only when the transaction's COMMIT marker reaches the partition.
import { strict as assert } from "node:assert";
import { GroupErrorCode as E } from "./error_codes.ts";
import { Harness } from "./test_harness.ts";
import type { GroupEffect, TxnOffsetCommitInput } from "./types.ts";

const PRODUCER = { producerId: 4000n, producerEpoch: 2 };

function txnCommit(
  h: Harness,
  handle: string,
  offset: number,
  input: Partial<TxnOffsetCommitInput> = {},
) {
  const effects = h.coordinator.txnOffsetCommit(handle, {
    groupId: "g",
    transactionalId: "app",
    ...PRODUCER,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: offset,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      }],
    }],
    ...input,
  }, h.nowMs);
  const appends = effects.filter((e): e is Extract<GroupEffect<string>, { type: "append" }> =>
    e.type === "append"
  );
  h.run(effects);
  return appends;
}

function fetch(h: Harness, requireStable = false) {
  const result = h.coordinator.offsetFetch({
    groupId: "g",
    topics: [{ name: "t", partitionIndexes: [0] }],
    requireStable,
  });
  const p = result.topics[0]!.partitions[0]!;
  return [p.committedOffset, p.errorCode];
}

function errorOf(h: Harness, handle: string) {
  const r = h.take(handle);
  assert(r?.api === "TxnOffsetCommit", `${handle} answered ${r?.api}`);
  return r.response.topics[0]!.partitions[0]!.errorCode;
}

Deno.test("transactional offsets are appended as the producer's transactional batch", () => {
  const h = new Harness();
  const appends = txnCommit(h, "c", 42);
  assert.equal(appends.length, 1);
  assert.deepEqual(appends[0]!.transactional, PRODUCER);
  assert.equal(errorOf(h, "c"), E.NONE);
});

Deno.test("transactional offsets stay invisible until the commit marker, then become committed", () => {
  const h = new Harness();
  txnCommit(h, "c", 42);
  assert.deepEqual(fetch(h), [-1, E.NONE]);
  assert.deepEqual(fetch(h, true), [-1, E.UNSTABLE_OFFSET_COMMIT]);
  h.run(h.coordinator.completeTransaction(PRODUCER.producerId, true, h.nowMs));
  assert.deepEqual(fetch(h), [42, E.NONE]);
  assert.deepEqual(fetch(h, true), [42, E.NONE]);
});

Deno.test("an aborted transaction's offsets are dropped and the earlier commit stays", () => {
  const h = new Harness();
  txnCommit(h, "c1", 10);
  h.run(h.coordinator.completeTransaction(PRODUCER.producerId, true, h.nowMs));
  txnCommit(h, "c2", 20);
  h.run(h.coordinator.completeTransaction(PRODUCER.producerId, false, h.nowMs));
  assert.deepEqual(fetch(h, true), [10, E.NONE]);
});

Deno.test("a marker of another producer leaves the pending offsets alone", () => {
  const h = new Harness();
  txnCommit(h, "c", 42);
  h.run(h.coordinator.completeTransaction(1n, true, h.nowMs));
  assert.deepEqual(fetch(h), [-1, E.NONE]);
});

Deno.test("a failed append is reported and nothing becomes pending", () => {
  const h = new Harness();
  h.holdAppends = true;
  txnCommit(h, "c", 42);
  h.releaseAppends(E.NOT_ENOUGH_REPLICAS);
  assert.equal(errorOf(h, "c"), E.COORDINATOR_NOT_AVAILABLE);
  h.run(h.coordinator.completeTransaction(PRODUCER.producerId, true, h.nowMs));
  assert.deepEqual(fetch(h), [-1, E.NONE]);
});

Deno.test("a KIP-447 commit from an unknown member or an old generation is refused", () => {
  const h = new Harness();
  h.joinDynamic("a-join");
  h.advance(3000);
  const join = h.joinResult("a-join")!;
  txnCommit(h, "stranger", 1, { generationId: join.generationId, memberId: "nobody" });
  txnCommit(h, "old", 1, { generationId: join.generationId - 1, memberId: join.memberId });
  txnCommit(h, "member", 1, { generationId: join.generationId, memberId: join.memberId });
  assert.equal(errorOf(h, "stranger"), E.UNKNOWN_MEMBER_ID);
  assert.equal(errorOf(h, "old"), E.ILLEGAL_GENERATION);
  assert.equal(errorOf(h, "member"), E.NONE);
});

Deno.test("offsets of a transaction open at the end of the log load as pending", () => {
  const h = new Harness();
  h.coordinator.loadPendingTxnOffsets(PRODUCER.producerId, [{
    type: "offsetCommit",
    keyVersion: 1,
    valueVersion: 3,
    key: { group: "g", topic: "t", partition: 0 },
    value: { offset: 7, leaderEpoch: -1, metadata: "", commitTimestamp: 0, expireTimestamp: -1 },
  }]);
  assert.deepEqual(fetch(h, true), [-1, E.UNSTABLE_OFFSET_COMMIT]);
  h.run(h.coordinator.completeTransaction(PRODUCER.producerId, true, h.nowMs));
  assert.deepEqual(fetch(h), [7, E.NONE]);
});
