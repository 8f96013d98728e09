import { strict as assert } from "node:assert";
import type { TxnLogRecord } from "../core/txn/types.ts";
import { decodeTxnRecordBatches, encodeTxnRecordBatch, encodeTxnRecordKey } from "./txn_records.ts";
import { Writer } from "../net/protocol/writer.ts";
import { decodeTxnRecord } from "./txn_records.ts";

const PREPARED: TxnLogRecord = {
  transactionalId: "app-1",
  value: {
    producerId: 4000n,
    producerEpoch: 3,
    transactionTimeoutMs: 60_000,
    state: "PrepareCommit",
    partitions: [{ topic: "orders", partitions: [0, 2] }],
    lastUpdateTimestampMs: 1_700_000_000_123,
    startTimestampMs: 1_700_000_000_000,
  },
};

Deno.test("transaction state records survive a batch round trip, tombstones included", () => {
  const records = [PREPARED, { transactionalId: "gone", value: null }];
  const batch = encodeTxnRecordBatch(records, 5);
  assert.deepEqual(decodeTxnRecordBatches(batch, 0, 10), { records, nextOffset: 2 });
});

Deno.test("records at or above the high watermark are not loaded", () => {
  const batch = encodeTxnRecordBatch([PREPARED, PREPARED], 5);
  assert.deepEqual(decodeTxnRecordBatches(batch, 0, 1).records, [PREPARED]);
});

Deno.test("the key is Kafka's: int16 version 0 then the transactional id as a string", () => {
  assert.deepEqual([...encodeTxnRecordKey("ab")], [0, 0, 0, 2, 97, 98]);
});

Deno.test("a value with the PrepareEpochFence status is refused as corrupt", () => {
  const w = new Writer(64);
  w.int16(0);
  w.int64(1n);
  w.int16(0);
  w.int32(1000);
  w.int8(7);
  w.int32(-1);
  w.int64(0n);
  w.int64(0n);
  assert.throws(() => decodeTxnRecord(encodeTxnRecordKey("x"), w.finish()), /status 7/);
});
