import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { lastSequenceOf, type ProducerBatch, ProducerStateManager } from "./producer_state.ts";

function batch(baseSequence: number, count = 1, producerEpoch = 0, producerId = 7): ProducerBatch {
  return {
    producerId,
    producerEpoch,
    baseSequence,
    lastOffsetDelta: count - 1,
    maxTimestamp: 1_000,
  };
}

Deno.test("a retried batch is a duplicate answered with its original offsets", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 3), 10, 1_000);
  state.record(batch(3, 2), 13, 1_000);
  assertEquals(state.check(batch(0, 3)), { kind: "duplicate", firstOffset: 10, lastOffset: 12 });
  assertEquals(state.check(batch(3, 2)), { kind: "duplicate", firstOffset: 13, lastOffset: 14 });
  assertEquals(state.check(batch(5, 1)), { kind: "append" });
});

Deno.test("only the last five batches of a producer are remembered", () => {
  const state = new ProducerStateManager();
  for (let i = 0; i < 6; i++) state.record(batch(i), i, 1_000);
  // The oldest batch fell out: it is no longer a duplicate, and it is out of sequence.
  assertEquals(state.check(batch(0)).kind, "error");
  assertEquals(state.check(batch(1)).kind, "duplicate");
});

Deno.test("a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 2), 0, 1_000);
  const check = state.check(batch(5));
  assertEquals(check.kind === "error" && check.code, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assertEquals(state.check(batch(2)), { kind: "append" });
});

Deno.test("an older epoch is INVALID_PRODUCER_EPOCH and a new epoch must start at 0", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 1, 3), 0, 1_000);
  const old = state.check(batch(1, 1, 2));
  assertEquals(old.kind === "error" && old.code, ErrorCode.INVALID_PRODUCER_EPOCH);
  const badStart = state.check(batch(4, 1, 4));
  assertEquals(badStart.kind === "error" && badStart.code, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assertEquals(state.check(batch(0, 1, 4)), { kind: "append" });
  state.record(batch(0, 1, 4), 1, 1_000);
  assertEquals(state.entry(7)?.epoch, 4);
  assertEquals(state.entry(7)?.batches.length, 1);
});

Deno.test("an unknown producer is accepted at any sequence (Kafka 2.5+, KIP-360)", () => {
  const state = new ProducerStateManager();
  assertEquals(state.check(batch(42)), { kind: "append" });
});

Deno.test("sequences wrap at Int32.MAX_VALUE", () => {
  assertEquals(lastSequenceOf(0x7fff_fffe, 2), 0);
  const state = new ProducerStateManager();
  state.record(batch(0x7fff_fffe, 2), 0, 1_000);
  assertEquals(state.check(batch(0x7fff_ffff, 1)).kind, "error");
  assertEquals(state.check(batch(0, 1)).kind, "append");
});

Deno.test("a snapshot round-trips through JSON, and expiry and eviction forget producers", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 2), 0, 1_000);
  state.record(batch(0, 1, 0, 8), 2, 5_000);
  const copy = new ProducerStateManager();
  copy.load(JSON.parse(JSON.stringify(state.snapshot(3))));
  assertEquals(copy.check(batch(0, 2)), { kind: "duplicate", firstOffset: 0, lastOffset: 1 });
  assertEquals(copy.removeExpired(10_000, 6_000), 1);
  assertEquals(copy.size, 1);
  copy.evictBelow(3);
  assertEquals(copy.size, 0);
});

// ---------------------------------------------------------------- transactions (Kafka's ProducerStateManagerTest)

const TXN = 0x10;

function txnBatch(
  baseSequence: number,
  count = 1,
  producerEpoch = 0,
  producerId = 7,
): ProducerBatch {
  return { ...batch(baseSequence, count, producerEpoch, producerId), attributes: TXN };
}

function marker(commit: boolean, producerEpoch = 0, coordinatorEpoch = 0, producerId = 7) {
  return { producerId, producerEpoch, coordinatorEpoch, commit };
}

Deno.test("a transactional batch starts a transaction at its first offset, the marker completes it", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 2), 10, 1_000);
  state.record(txnBatch(2, 2), 12, 1_000);
  assertEquals(state.entry(7)?.currentTxnFirstOffset, 10);
  assertEquals(state.firstUnstableOffset(), 10);
  assertEquals(state.ongoingTransactions(), [{ producerId: 7, firstOffset: 10 }]);
  const done = state.recordMarker(marker(false), 14, 1_000);
  assertEquals(done, { producerId: 7, firstOffset: 10, lastOffset: 14, isAborted: true });
  assertEquals(state.entry(7)?.currentTxnFirstOffset, -1);
  assertEquals(state.ongoingTransactions(), []);
});

Deno.test("a completed transaction stays unstable until the high watermark passes its marker", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0), 5, 1_000);
  state.recordMarker(marker(true), 6, 1_000);
  state.onHighWatermarkUpdated(6);
  assertEquals(state.firstUnstableOffset(), 5);
  state.onHighWatermarkUpdated(7);
  assertEquals(state.firstUnstableOffset(), null);
});

Deno.test("the first unstable offset is the oldest open transaction of any producer", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 1, 0, 1), 0, 1_000);
  assertEquals(state.firstUnstableOffset(), null);
  state.record(txnBatch(0, 1, 0, 2), 1, 1_000);
  state.record(txnBatch(0, 1, 0, 3), 2, 1_000);
  assertEquals(state.firstUnstableOffset(), 1);
  const done = state.recordMarker(marker(true, 0, 0, 2), 3, 1_000)!;
  // The aborted-index entry's LSO is where the other producer's transaction still holds it.
  assertEquals(state.lastStableOffsetAfter(done), 2);
  state.onHighWatermarkUpdated(4);
  assertEquals(state.firstUnstableOffset(), 2);
});

Deno.test("a plain write from a producer inside a transaction is INVALID_TXN_STATE", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0), 0, 1_000);
  const check = state.check(batch(1));
  assertEquals(check.kind === "error" && check.code, ErrorCode.INVALID_TXN_STATE);
  assertEquals(state.check(txnBatch(1)), { kind: "append" });
  state.recordMarker(marker(true), 1, 1_000);
  assertEquals(state.check(batch(1)), { kind: "append" });
});

Deno.test("a transactional batch of an older epoch is INVALID_PRODUCER_EPOCH", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 1, 4), 0, 1_000);
  const check = state.check(txnBatch(1, 1, 3));
  assertEquals(check.kind === "error" && check.code, ErrorCode.INVALID_PRODUCER_EPOCH);
});

Deno.test("a marker of an older producer or coordinator epoch is refused", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 1, 2), 0, 1_000);
  state.recordMarker(marker(true, 2, 5), 1, 1_000);
  assertEquals(state.checkMarker(marker(true, 1, 5)).code, ErrorCode.INVALID_PRODUCER_EPOCH);
  assertEquals(
    state.checkMarker(marker(true, 2, 4)).code,
    ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  );
  assertEquals(state.checkMarker(marker(false, 3, 5)).code, ErrorCode.NONE);
  assertEquals(state.checkMarker(marker(false, 0, 0, 99)).code, ErrorCode.NONE);
});

Deno.test("a marker for a producer without a transaction here completes nothing", () => {
  const state = new ProducerStateManager();
  assertEquals(state.recordMarker(marker(false, 3, 1, 42), 0, 1_000), null);
  assertEquals(state.entry(42)?.epoch, 3);
  assertEquals(state.firstUnstableOffset(), null);
});

Deno.test("a producer with an open transaction never expires", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 1, 0, 1), 0, 1_000);
  state.record(batch(0, 1, 0, 2), 1, 1_000);
  assertEquals(state.removeExpired(1_000_000, 1_000), 1);
  assertEquals(state.entry(1)?.currentTxnFirstOffset, 0);
});

Deno.test("truncation reopens a transaction whose marker it removed and forgets one it started", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 1, 0, 1), 0, 1_000);
  state.recordMarker(marker(false, 0, 0, 1), 2, 1_000);
  state.record(txnBatch(0, 1, 0, 2), 3, 1_000);
  state.truncateFrom(2);
  assertEquals(state.ongoingTransactions(), [{ producerId: 1, firstOffset: 0 }]);
  assertEquals(state.entry(2), undefined);
});

Deno.test("a snapshot keeps open transactions and the coordinator epoch", () => {
  const state = new ProducerStateManager();
  state.record(txnBatch(0, 2), 3, 1_000);
  state.recordMarker(marker(true, 0, 7, 8), 5, 1_000);
  const loaded = new ProducerStateManager();
  loaded.load(JSON.parse(JSON.stringify(state.snapshot(6))));
  assertEquals(loaded.ongoingTransactions(), [{ producerId: 7, firstOffset: 3 }]);
  assertEquals(loaded.entry(8)?.coordinatorEpoch, 7);
});

Deno.test("Kafka's .snapshot entries keep epochs, the open transaction and the last five batches", () => {
  const state = new ProducerStateManager();
  state.record(batch(0, 3), 10, 1_000);
  state.record(batch(3, 2), 13, 1_000);
  state.record(txnBatch(0, 2, 0, 9), 15, 1_000);
  const loaded = new ProducerStateManager();
  loaded.loadSnapshotEntries(state.snapshotEntries());
  assertEquals(loaded.check(batch(0, 3)), { kind: "duplicate", firstOffset: 10, lastOffset: 12 });
  assertEquals(loaded.check(batch(3, 2)), { kind: "duplicate", firstOffset: 13, lastOffset: 14 });
  assertEquals(loaded.check(batch(5)), { kind: "append" });
  // Kafka's reader keeps the last entry of a producer id: the newest batch comes last.
  assertEquals(state.snapshotEntries().filter((e) => e.producerId === 7).at(-1)?.lastOffset, 14);
  assertEquals(loaded.ongoingTransactions(), [{ producerId: 9, firstOffset: 15 }]);
  assertEquals(loaded.entry(9)?.batches[0]?.firstSeq, 0);
});

Deno.test("a snapshot entry of a batch that wrapped its sequence restores the first sequence", () => {
  const state = new ProducerStateManager();
  state.record(batch(0x7fff_fffe, 3), 0, 1_000);
  const loaded = new ProducerStateManager();
  loaded.loadSnapshotEntries(state.snapshotEntries());
  assertEquals(loaded.entry(7)?.batches[0]?.firstSeq, 0x7fff_fffe);
  assertEquals(loaded.check(batch(0x7fff_fffe, 3)).kind, "duplicate");
});
