// The group coordinator's TxnOffsetCommit batches carry a producer id and epoch but no sequence
// (Kafka writes NO_SEQUENCE with AppendOrigin.COORDINATOR): only the epoch and transaction checks
// apply, never the sequence or duplicate checks of client batches.
import assert from "node:assert/strict";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { type ProducerBatch, ProducerStateManager } from "./producer_state.ts";

const TRANSACTIONAL = 0x10;

function offsetsBatch(producerEpoch: number): ProducerBatch {
  return {
    producerId: 7,
    producerEpoch,
    baseSequence: -1,
    lastOffsetDelta: 0,
    maxTimestamp: 1,
    attributes: TRANSACTIONAL,
  };
}

Deno.test("a second offsets batch of the same epoch is appended, not taken for a duplicate", () => {
  const state = new ProducerStateManager();
  state.record(offsetsBatch(0), 0, 1);
  assert.deepEqual(state.check(offsetsBatch(0), "internal"), { kind: "append" });
  // The same bytes from a client would be a retry of the first.
  assert.equal(state.check(offsetsBatch(0)).kind, "duplicate");
});

Deno.test("an offsets batch of a bumped epoch needs no sequence 0", () => {
  const state = new ProducerStateManager();
  state.record(offsetsBatch(0), 0, 1);
  assert.deepEqual(state.check(offsetsBatch(1), "internal"), { kind: "append" });
});

Deno.test("an offsets batch of a fenced epoch is INVALID_PRODUCER_EPOCH", () => {
  const state = new ProducerStateManager();
  state.record(offsetsBatch(3), 0, 1);
  const check = state.check(offsetsBatch(2), "internal");
  assert.equal(check.kind === "error" && check.code, ErrorCode.INVALID_PRODUCER_EPOCH);
});
