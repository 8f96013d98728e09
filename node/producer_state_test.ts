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
