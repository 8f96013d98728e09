import assert from "node:assert/strict";
import { join } from "node:path";
import { Writer } from "../net/protocol/writer.ts";
import {
  ControlRecordType,
  encodeBatch,
  encodeControlKey,
  encodeEndTxnMarkerValue,
} from "../net/protocol/records.ts";
import { encodeAbortedTxns } from "../storage/log/transaction_index.ts";
import { encodeProducerSnapshot } from "../storage/log/producer_snapshot_file.ts";
import { writeMetadataRecord } from "../net/protocol/generated/metadata_records.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import {
  createLeaderChangeMessage,
  createVoter,
  writeLeaderChangeMessage,
} from "../net/protocol/generated/leader_change_message.ts";
import {
  createSnapshotHeaderRecord,
  writeSnapshotHeaderRecord,
} from "../net/protocol/generated/snapshot_header_record.ts";
import {
  dumpIndexBytes,
  dumpLogBytes,
  dumpProducerSnapshotBytes,
  dumpTxnIndexBytes,
  kafkaJson,
  metadataRecordText,
} from "./dump_log.ts";
import { runCli } from "./mod.ts";

const SEGMENT = "00000000000000000000.log";

function topicRecordValue(name: string): Uint8Array {
  const w = new Writer(64);
  writeMetadataRecord(w, {
    type: 2,
    version: 0,
    data: createTopicRecord({ name, topicId: "iAjfkS4QR56e76tTTPefyA" }),
  } as never);
  return w.finish();
}

function leaderChangeValue(): Uint8Array {
  const w = new Writer(64);
  writeLeaderChangeMessage(
    w,
    0,
    createLeaderChangeMessage({
      version: 0,
      leaderId: 1,
      voters: [createVoter({ voterId: 1 })],
      grantingVoters: [createVoter({ voterId: 1 })],
    }),
  );
  return w.finish();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A metadata segment: a LeaderChange control batch, then two TopicRecords in one batch. */
function metadataSegment(): Uint8Array {
  const control = encodeBatch({
    baseOffset: 0,
    baseTimestamp: 1_700_000_000_000,
    partitionLeaderEpoch: 1,
    control: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: encodeControlKey(ControlRecordType.LEADER_CHANGE),
      value: leaderChangeValue(),
      headers: [],
    }],
  });
  const data = encodeBatch({
    baseOffset: 1,
    baseTimestamp: 1_700_000_000_100,
    partitionLeaderEpoch: 1,
    records: ["orders", "payments"].map((name, i) => ({
      offsetDelta: i,
      timestampDelta: i,
      key: null,
      value: topicRecordValue(name),
      headers: [],
    })),
  });
  return concat([control, data]);
}

Deno.test("dump-log prints Kafka's batch line for each batch of a segment", () => {
  const { out } = dumpLogBytes(SEGMENT, metadataSegment());
  assert.equal(out[0], "Log starting offset: 0");
  assert.equal(out.length, 3);
  assert.match(
    out[1]!,
    /^baseOffset: 0 lastOffset: 0 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: true deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000000 size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$/,
  );
  assert.match(
    out[2]!,
    /^baseOffset: 1 lastOffset: 2 count: 2 .* isControl: false .* CreateTime: 1700000000101 /,
  );
});

Deno.test("the cluster metadata decoder prints each record as Kafka's JSON", () => {
  const { out } = dumpLogBytes(SEGMENT, metadataSegment(), { clusterMetadataDecoder: true });
  assert.equal(
    out[5],
    '| offset: 2 CreateTime: 1700000000101 keySize: -1 valueSize: 29 sequence: -1 headerKeys: [] payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"payments","topicId":"iAjfkS4QR56e76tTTPefyA"}}',
  );
  assert.match(
    out[2]!,
    /^\| offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: \d+ sequence: -1 headerKeys: \[\] LeaderChange: \{"version":0,"leaderId":1,"voters":\[\{"voterId":1/,
  );
});

Deno.test("a torn tail and a bad CRC are reported, not thrown", () => {
  const segment = metadataSegment();
  const torn = concat([segment, segment.subarray(0, 30)]);
  const { out } = dumpLogBytes(SEGMENT, torn, { deepIteration: true });
  assert.equal(out.at(-1), `Found 30 invalid bytes at the end of ${SEGMENT}`);
  const flipped = segment.slice();
  flipped[flipped.length - 3]! ^= 0xff;
  const bad = dumpLogBytes(SEGMENT, flipped, { deepIteration: true }).out;
  assert.ok(bad.some((line) => line.endsWith("isvalid: false")));
});

Deno.test("snapshots name their end offset and epoch; the bootstrap snapshot is named as such", () => {
  const w = new Writer(32);
  writeSnapshotHeaderRecord(w, 0, createSnapshotHeaderRecord({ version: 0 }));
  const header = encodeBatch({
    baseOffset: 0,
    control: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: encodeControlKey(ControlRecordType.SNAPSHOT_HEADER),
      value: w.finish(),
      headers: [],
    }],
  });
  const snap = dumpLogBytes("00000000000000000042-0000000003.checkpoint", header, {
    deepIteration: true,
  });
  assert.equal(snap.out[0], "Snapshot end offset: 42, epoch: 3");
  assert.match(snap.out[2]!, / SnapshotHeader \{"version":0,"lastContainedLogTimestamp":0\}$/);
  assert.equal(dumpLogBytes("bootstrap.checkpoint", header).out[0], "KRaft bootstrap snapshot");
});

Deno.test("an undecodable metadata value becomes Kafka's 'Error at' text", () => {
  assert.match(metadataRecordText(new Uint8Array([9, 9]), 7), /^Error at 7, skipping\. /);
  assert.equal(
    kafkaJson({ a: 1n, b: new Uint8Array([1, 2]), _unknownTaggedFields: [] }),
    '{"a":1,"b":"AQI="}',
  );
});

Deno.test("index files print their offset and position entries", () => {
  const bytes = new Uint8Array(16);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 0);
  v.setInt32(4, 0);
  v.setInt32(8, 5);
  v.setInt32(12, 4096);
  assert.deepEqual(dumpIndexBytes("00000000000000000100.index", bytes), [
    "offset: 100 position: 0",
    "offset: 105 position: 4096",
  ]);
});

Deno.test("a transaction marker prints as Kafka's endTxnMarker with its coordinator epoch", () => {
  const bytes = encodeBatch({
    baseOffset: 7,
    baseTimestamp: 1_000,
    producerId: 42,
    producerEpoch: 3,
    transactional: true,
    control: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: encodeControlKey(ControlRecordType.ABORT),
      value: encodeEndTxnMarkerValue(9),
      headers: [],
    }],
  });
  const { out } = dumpLogBytes(SEGMENT, bytes, { deepIteration: true });
  assert.match(out[1]!, /producerId: 42 producerEpoch: 3 .* isTransactional: true isControl: true/);
  assert.equal(
    out[2],
    "| offset: 7 CreateTime: 1000 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: ABORT coordinatorEpoch: 9",
  );
});

Deno.test("a .txnindex prints each aborted transaction as Kafka's dumpTxnIndex, and a torn tail", () => {
  const bytes = encodeAbortedTxns([
    { producerId: 42, firstOffset: 3, lastOffset: 7, lastStableOffset: 8 },
  ]);
  const torn = new Uint8Array(bytes.length + 5);
  torn.set(bytes);
  assert.deepEqual(dumpTxnIndexBytes("00000000000000000000.txnindex", torn), [
    "version: 0 producerId: 42 firstOffset: 3 lastOffset: 7 lastStableOffset: 8",
    "Found 5 invalid bytes at the end of 00000000000000000000.txnindex",
  ]);
});

Deno.test("a producer .snapshot prints each producer as Kafka's dumpProducerIdSnapshot", () => {
  const bytes = encodeProducerSnapshot([
    {
      producerId: 42,
      producerEpoch: 3,
      lastSequence: 1,
      lastOffset: 12,
      offsetDelta: 2,
      timestampMs: 1_000,
      coordinatorEpoch: 5,
      currentTxnFirstOffset: 10,
    },
    {
      producerId: 43,
      producerEpoch: 0,
      lastSequence: -1,
      lastOffset: -1,
      offsetDelta: 0,
      timestampMs: 2_000,
      coordinatorEpoch: -1,
      currentTxnFirstOffset: -1,
    },
  ]);
  assert.deepEqual(dumpProducerSnapshotBytes(bytes), {
    out: [
      "producerId: 42 producerEpoch: 3 coordinatorEpoch: 5 currentTxnFirstOffset: OptionalLong[10] lastTimestamp: 1000 firstSequence: 2147483647 lastSequence: 1 lastOffset: 12 offsetDelta: 2 timestamp: 1000",
      "producerId: 43 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 2000 ",
    ],
    err: [],
  });
  const corrupt = bytes.slice();
  corrupt[20] = corrupt[20]! ^ 1;
  assert.match(dumpProducerSnapshotBytes(corrupt).err[0]!, /corrupt/);
});

Deno.test("dump-log reads --files and needs them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, SEGMENT);
    await Deno.writeFile(path, metadataSegment());
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await runCli(["dump-log", "--files", path, "--cluster-metadata-decoder"], io), 0);
    assert.equal(out[0], `Dumping ${path}`);
    assert.ok(out.some((l) => l.includes('"name":"orders"')));
    assert.equal(await runCli(["dump-log"], io), 1);
    assert.match(err.at(-1)!, /missing required option --files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
