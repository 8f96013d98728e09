import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";
import { CorruptBatchError, readBatchHeader, verifyBatchCrc } from "./record_batch.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  decodeEndTxnMarkerValue,
  decodeRecords,
  encodeBatch,
  encodeControlKey,
  encodeEndTxnMarkerValue,
  encodeRecords,
  openBatch,
  type Record,
  sizeOfVarint,
  sizeOfVarlong,
} from "./records.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const isCorrupt = (e: unknown) => e instanceof CorruptBatchError && e.code === 2;

/** Seeded PRNG (mulberry32) so fuzz failures replay. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleRecords(n: number): Record[] {
  return Array.from({ length: n }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: i * 3 - (i === 2 ? 100 : 0),
    key: i % 3 === 0 ? null : ascii(`key-${i}`),
    value: i % 5 === 4 ? null : ascii(JSON.stringify({ i, payload: "x".repeat(i * 7) })),
    headers: i % 2 === 0 ? [] : [{ key: "h€", value: ascii("v") }, { key: "nil", value: null }],
  }));
}

Deno.test("varint sizes match Kafka's ByteUtils for boundary values", () => {
  assert.equal(sizeOfVarint(0), 1);
  assert.equal(sizeOfVarint(-1), 1);
  assert.equal(sizeOfVarint(63), 1);
  assert.equal(sizeOfVarint(64), 2);
  assert.equal(sizeOfVarint(-65), 2);
  assert.equal(sizeOfVarint(2147483647), 5);
  assert.equal(sizeOfVarint(-2147483648), 5);
  assert.equal(sizeOfVarlong(2 ** 53 - 1), 8);
  assert.equal(sizeOfVarlong(-(2 ** 40)), 6);
});

Deno.test("encodeBatch reproduces a batch built by hand from the DefaultRecordBatch spec", () => {
  // Same bytes as record_batch_test.ts: baseOffset 5, epoch 7, producer 42/3/9, value "a".
  const expected = new Uint8Array(69);
  const v = new DataView(expected.buffer);
  v.setBigInt64(0, 5n);
  v.setInt32(8, 57);
  v.setInt32(12, 7);
  v.setInt8(16, 2);
  v.setBigInt64(27, 1_700_000_000_000n);
  v.setBigInt64(35, 1_700_000_000_000n);
  v.setBigInt64(43, 42n);
  v.setInt16(51, 3);
  v.setInt32(53, 9);
  v.setInt32(57, 1);
  expected.set([0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 0x61, 0x00], 61);
  v.setUint32(17, crc32c(expected.subarray(21)));
  const actual = encodeBatch({
    baseOffset: 5,
    partitionLeaderEpoch: 7,
    baseTimestamp: 1_700_000_000_000,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 9,
    records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: ascii("a"), headers: [] }],
  });
  assert.deepEqual(actual, expected);
  const decoded = decodeBatch(expected);
  assert.equal(decoded.records.length, 1);
  assert.deepEqual(decoded.records[0]!.value, ascii("a"));
  assert.equal(decoded.records[0]!.key, null);
});

Deno.test("a record with key, value and headers encodes to the exact DefaultRecord bytes", () => {
  const bytes = encodeRecords([{
    offsetDelta: 1,
    timestampDelta: -1,
    key: ascii("k"),
    value: new Uint8Array(0),
    headers: [{ key: "h", value: null }],
  }]);
  // body: attrs 0, tsΔ -1 -> 01, offΔ 1 -> 02, key len 1 -> 02 'k', value len 0 -> 00,
  // 1 header -> 02, key len 1 -> 02 'h', value -1 -> 01. Body is 10 bytes -> length 0x14.
  assert.deepEqual(
    bytes,
    new Uint8Array([0x14, 0, 0x01, 0x02, 0x02, 0x6b, 0x00, 0x02, 0x02, 0x68, 0x01]),
  );
});

Deno.test("batches round trip for every codec and attribute combination", () => {
  const records = sampleRecords(12);
  for (const compression of [0, 1, 2, 3, 4]) {
    for (let flags = 0; flags < 8; flags++) {
      const transactional = (flags & 1) !== 0;
      const control = (flags & 2) !== 0;
      const timestampType = (flags & 4) !== 0 ? 1 : 0;
      const bytes = encodeBatch({
        baseOffset: 2 ** 40,
        records,
        compression,
        transactional,
        control,
        timestampType,
        baseTimestamp: 1_700_000_000_000,
        producerId: 77,
        producerEpoch: 2,
        baseSequence: 100,
        partitionLeaderEpoch: 4,
      });
      assert.ok(verifyBatchCrc(bytes, 0));
      const { header, records: back } = decodeBatch(bytes);
      assert.equal(header.attributes & 7, compression);
      assert.equal((header.attributes & 0x10) !== 0, transactional);
      assert.equal((header.attributes & 0x20) !== 0, control);
      assert.equal((header.attributes & 0x08) !== 0, timestampType === 1);
      assert.equal(header.lastOffsetDelta, 11);
      assert.equal(header.maxTimestamp, 1_700_000_000_000 + 33);
      assert.equal(header.recordCount, 12);
      assert.deepEqual(back, records);
    }
  }
});

Deno.test("an empty batch keeps an explicit lastOffsetDelta, as compaction leaves it", () => {
  const bytes = encodeBatch({ baseOffset: 10, records: [], lastOffsetDelta: 4, baseTimestamp: 9 });
  const { header, records } = decodeBatch(bytes);
  assert.equal(records.length, 0);
  assert.equal(header.lastOffsetDelta, 4);
  assert.equal(header.maxTimestamp, 9);
});

Deno.test("control records carry an int16 version and int16 type key", () => {
  const key = encodeControlKey(ControlRecordType.COMMIT);
  assert.deepEqual(key, new Uint8Array([0, 0, 0, 1]));
  const bytes = encodeBatch({
    baseOffset: 0,
    control: true,
    transactional: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key,
      value: encodeEndTxnMarkerValue(5),
      headers: [],
    }],
  });
  const r = decodeBatch(bytes).records[0]!;
  assert.deepEqual(decodeControlKey(r.key), { version: 0, type: 1 });
  assert.deepEqual(decodeEndTxnMarkerValue(r.value), { version: 0, coordinatorEpoch: 5 });
  assert.throws(() => decodeControlKey(null), isCorrupt);
  assert.throws(() => decodeEndTxnMarkerValue(new Uint8Array(3)), isCorrupt);
});

Deno.test("a flipped bit fails the CRC check with a CorruptBatchError", () => {
  const bytes = encodeBatch({ baseOffset: 0, records: sampleRecords(3), compression: 1 });
  bytes[bytes.length - 3]! ^= 0x10;
  assert.throws(() => decodeBatch(bytes), isCorrupt);
});

Deno.test("truncated batches throw CorruptBatchError at every cut point", () => {
  const bytes = encodeBatch({ baseOffset: 0, records: sampleRecords(4) });
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodeBatch(bytes.subarray(0, cut)), isCorrupt, `cut at ${cut}`);
  }
});

Deno.test("a record count that disagrees with the bytes is rejected", () => {
  const records = encodeRecords(sampleRecords(3));
  assert.throws(() => decodeRecords(records, 4), isCorrupt);
  assert.throws(() => decodeRecords(records, 2), isCorrupt);
  assert.throws(() => decodeRecords(records, -1), isCorrupt);
  assert.equal(decodeRecords(records, 3).length, 3);
});

Deno.test("a hostile record length or header count never allocates beyond the input", () => {
  // length 2^31-1, then nothing: must fail fast, not allocate.
  assert.throws(() => decodeRecords(new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0x0f]), 1), isCorrupt);
  // a body claiming 2^30 headers.
  const body = new Uint8Array([0x10, 0, 0, 0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0x07]);
  body[0] = (body.length - 1) * 2;
  assert.throws(() => decodeRecords(body, 1), isCorrupt);
  // recordCount of 2^31-1 in a valid batch.
  const bytes = encodeBatch({ baseOffset: 0, records: sampleRecords(1) });
  new DataView(bytes.buffer).setInt32(57, 0x7fffffff);
  assert.throws(() => decodeBatch(bytes, { skipCrcCheck: true }), isCorrupt);
});

Deno.test("decodeBatch throws only CorruptBatchError on random and mutated input", () => {
  const rand = prng(0xc0ffee);
  const seeds = [0, 1, 2, 3, 4].map((compression) =>
    encodeBatch({ baseOffset: 3, records: sampleRecords(6), compression })
  );
  const started = performance.now();
  for (let iter = 0; iter < 3000; iter++) {
    let input: Uint8Array;
    if (iter % 4 === 0) {
      input = new Uint8Array(Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
    } else {
      input = seeds[iter % seeds.length]!.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(rand() * input.length);
        input[at] = Math.floor(rand() * 256);
      }
      if (rand() < 0.2) input = input.subarray(0, Math.floor(rand() * input.length));
    }
    for (const skipCrcCheck of [false, true]) {
      try {
        decodeBatch(input, { skipCrcCheck, decompressedBytesMax: 1 << 20 });
      } catch (e) {
        assert.ok(isCorrupt(e), `iteration ${iter}: ${e}`);
      }
    }
  }
  assert.ok(performance.now() - started < 20_000, "fuzzing took too long");
});

Deno.test("openBatch's cursor yields decodeBatch's records and fails where decodeBatch fails", () => {
  const outcome = (decode: () => Record[]) => {
    try {
      return { records: decode() };
    } catch (e) {
      assert.ok(isCorrupt(e), String(e));
      return { error: (e as Error).message };
    }
  };
  const drain = (input: Uint8Array) => () => {
    const { records } = openBatch(input, { skipCrcCheck: true });
    const out: Record[] = [];
    while (records.next()) {
      const { offsetDelta, timestampDelta, key, value, headers } = records;
      out.push({ offsetDelta, timestampDelta, key, value, headers });
    }
    return out;
  };
  const rand = prng(0x5eed);
  const seeds = [0, 1].map((compression) =>
    encodeBatch({ baseOffset: 3, records: sampleRecords(6), compression })
  );
  for (let iter = 0; iter < 2000; iter++) {
    const input = seeds[iter % seeds.length]!.slice();
    const flips = Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) {
      input[61 + Math.floor(rand() * (input.length - 61))] = Math.floor(rand() * 256);
    }
    const cut = rand() < 0.2 ? Math.floor(rand() * input.length) : input.length;
    const bytes = input.subarray(0, cut);
    assert.deepEqual(
      outcome(drain(bytes)),
      outcome(() => decodeBatch(bytes, { skipCrcCheck: true }).records),
      `iteration ${iter}`,
    );
  }
});

Deno.test("decodeBatch rejects records that decompress past the limit", () => {
  const big: Record = {
    offsetDelta: 0,
    timestampDelta: 0,
    key: null,
    value: new Uint8Array(200_000),
    headers: [],
  };
  for (const compression of [1, 2, 3, 4]) {
    const bytes = encodeBatch({ baseOffset: 0, records: [big], compression });
    assert.throws(() => decodeBatch(bytes, { decompressedBytesMax: 100_000 }), isCorrupt);
    assert.equal(decodeBatch(bytes).records[0]!.value!.length, 200_000);
  }
});

Deno.test("readBatchHeader on an encoded batch reports int64 fields as numbers", () => {
  const bytes = encodeBatch({ baseOffset: 2 ** 50, records: [], baseTimestamp: -1 });
  const h = readBatchHeader(bytes, 0);
  assert.equal(h.baseOffset, 2 ** 50);
  assert.equal(h.baseTimestamp, -1);
  assert.equal(h.producerId, -1);
});
