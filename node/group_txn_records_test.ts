// TxnOffsetCommit records in `__consumer_offsets`: transactional batches held until their
// producer's marker when a partition is loaded (Kafka's GroupMetadataManager.doLoadGroupsAndOffsets).
import assert from "node:assert/strict";
import type { GroupRecord } from "../core/group/types.ts";
import { ControlRecordType, encodeBatch, encodeControlKey } from "../net/protocol/records.ts";
import { readBatchHeader, setBaseOffset } from "../net/protocol/record_batch.ts";
import { decodeGroupRecordBatches, encodeGroupRecordBatch } from "./group_records.ts";

function offset(group: string, value: number): GroupRecord {
  return {
    type: "offsetCommit",
    keyVersion: 1,
    valueVersion: 3,
    key: { group, topic: "t", partition: 0 },
    value: {
      offset: value,
      leaderEpoch: -1,
      metadata: "",
      commitTimestamp: 5,
      expireTimestamp: -1,
    },
  };
}

function at(baseOffset: number, bytes: Uint8Array): Uint8Array {
  setBaseOffset(bytes, 0, baseOffset);
  return bytes;
}

function marker(baseOffset: number, producerId: number, type: number): Uint8Array {
  return at(
    baseOffset,
    encodeBatch({
      baseOffset: 0,
      producerId,
      producerEpoch: 0,
      transactional: true,
      control: true,
      records: [{
        offsetDelta: 0,
        timestampDelta: 0,
        key: encodeControlKey(type),
        value: new Uint8Array([0, 0, 0, 0, 0, 0]),
        headers: [],
      }],
    }),
  );
}

function txn(baseOffset: number, producerId: bigint, records: GroupRecord[]): Uint8Array {
  return at(baseOffset, encodeGroupRecordBatch(records, 5, { producerId, producerEpoch: 0 }));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

Deno.test("a TxnOffsetCommit batch is transactional, of its producer, without a sequence", () => {
  const header = readBatchHeader(txn(0, 77n, [offset("g", 1)]), 0);
  assert.equal(header.producerId, 77);
  assert.equal(header.baseSequence, -1);
  assert.notEqual(header.attributes & 0x10, 0);
});

Deno.test("committed transactions load at their marker, aborted ones never, open ones stay open", () => {
  const log = concat(
    txn(0, 5n, [offset("g", 10)]),
    at(1, encodeGroupRecordBatch([offset("g", 1)], 5)),
    txn(2, 6n, [offset("g", 99)]),
    marker(3, 5, ControlRecordType.COMMIT),
    marker(4, 6, ControlRecordType.ABORT),
    txn(5, 7n, [offset("h", 70)]),
  );
  const open = new Map<bigint, GroupRecord[]>();
  const decoded = decodeGroupRecordBatches(log, 0, 6, open);
  assert.deepEqual(decoded.records, [offset("g", 1), offset("g", 10)]);
  assert.deepEqual([...open], [[7n, [offset("h", 70)]]]);
  assert.equal(decoded.nextOffset, 6);
});

Deno.test("a load that stops between a transaction and its marker carries it to the next read", () => {
  const first = txn(0, 5n, [offset("g", 10)]);
  const second = marker(1, 5, ControlRecordType.COMMIT);
  const open = new Map<bigint, GroupRecord[]>();
  assert.deepEqual(decodeGroupRecordBatches(first, 0, 2, open).records, []);
  assert.deepEqual(decodeGroupRecordBatches(second, 1, 2, open).records, [offset("g", 10)]);
  assert.equal(open.size, 0);
});
