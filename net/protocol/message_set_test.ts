import assert from "node:assert/strict";
import { crc32 } from "./crc32c.ts";
import { CorruptBatchError, readBatchHeader } from "./record_batch.ts";
import { ControlRecordType, decodeBatch, encodeBatch, encodeControlKey } from "./records.ts";
import {
  convertMessageSetToBatch,
  decodeMessageSet,
  downConvertBatches,
  encodeMessageSet,
  type LegacyMessageInput,
  messageSetCodec,
} from "./message_set.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const isCorrupt = (e: unknown) => e instanceof CorruptBatchError && e.code === 2;

const messages: LegacyMessageInput[] = [
  { key: null, value: ascii("one"), timestamp: 1000 },
  { key: ascii("k2"), value: null, timestamp: 1005 },
  { key: ascii("k3"), value: ascii("three".repeat(50)), timestamp: 990 },
];

Deno.test("a v0 message encodes to the bytes LegacyRecord defines", () => {
  // offset 7, size 15, crc, magic 0, attributes 0, key -1, value length 1, 'a'.
  const body = [0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x61];
  const expected = new Uint8Array(12 + 4 + body.length);
  const v = new DataView(expected.buffer);
  v.setBigInt64(0, 7n);
  v.setInt32(8, 4 + body.length);
  expected.set(body, 16);
  v.setUint32(12, crc32(new Uint8Array(body)));
  const actual = encodeMessageSet({
    magic: 0,
    baseOffset: 7,
    messages: [{ key: null, value: ascii("a") }],
  });
  assert.deepEqual(actual, expected);
  assert.deepEqual(decodeMessageSet(expected), [
    { offset: 7, magic: 0, timestamp: -1, timestampType: 0, key: null, value: ascii("a") },
  ]);
});

Deno.test("message sets round trip for magic 0 and 1 with every legacy codec", () => {
  for (const magic of [0, 1] as const) {
    for (const compression of [0, 1, 2, 3]) {
      const bytes = encodeMessageSet({ magic, compression, messages, baseOffset: 100 });
      assert.equal(messageSetCodec(bytes), compression);
      const back = decodeMessageSet(bytes);
      assert.deepEqual(back.map((m) => m.offset), [100, 101, 102]);
      assert.deepEqual(back.map((m) => m.value), messages.map((m) => m.value));
      assert.deepEqual(back.map((m) => m.key), messages.map((m) => m.key));
      assert.deepEqual(
        back.map((m) => m.timestamp),
        magic === 1 ? [1000, 1005, 990] : [-1, -1, -1],
      );
    }
  }
});

Deno.test("a v1 LogAppendTime wrapper stamps its timestamp on every inner message", () => {
  const bytes = encodeMessageSet({ magic: 1, compression: 1, messages, timestampType: 1 });
  const back = decodeMessageSet(bytes);
  assert.deepEqual(back.map((m) => m.timestamp), [1005, 1005, 1005]);
  assert.deepEqual(back.map((m) => m.timestampType), [1, 1, 1]);
});

Deno.test("convertMessageSetToBatch yields a v2 batch with the same records", () => {
  for (const magic of [0, 1] as const) {
    for (const compression of [0, 1, 2, 3]) {
      const set = encodeMessageSet({ magic, compression, messages });
      const batch = convertMessageSetToBatch(set, { baseOffset: 50 });
      const { header, records } = decodeBatch(batch);
      assert.equal(header.baseOffset, 50);
      assert.equal(header.attributes & 7, compression);
      assert.equal(header.lastOffsetDelta, 2);
      assert.equal(header.baseTimestamp, magic === 1 ? 1000 : -1);
      assert.equal(header.maxTimestamp, magic === 1 ? 1005 : -1);
      assert.deepEqual(records.map((r) => r.value), messages.map((m) => m.value));
      assert.deepEqual(records.map((r) => r.offsetDelta), [0, 1, 2]);
      assert.deepEqual(records.map((r) => r.timestampDelta), magic === 1 ? [0, 5, -10] : [0, 0, 0]);
    }
  }
  const empty = convertMessageSetToBatch(new Uint8Array(0));
  assert.equal(readBatchHeader(empty, 0).recordCount, 0);
});

Deno.test("a flipped bit fails the legacy CRC32 check", () => {
  const bytes = encodeMessageSet({ magic: 1, messages });
  bytes[30]! ^= 1;
  assert.throws(() => decodeMessageSet(bytes), isCorrupt);
});

Deno.test("a truncated tail is an error unless the caller allows it", () => {
  const bytes = encodeMessageSet({ magic: 1, messages });
  const cut = bytes.subarray(0, bytes.length - 5);
  assert.throws(() => decodeMessageSet(cut), isCorrupt);
  assert.equal(decodeMessageSet(cut, { allowTruncatedTail: true }).length, 2);
});

Deno.test("decodeMessageSet throws only CorruptBatchError on mutated input", () => {
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const seeds = [0, 1, 2, 3].map((compression) =>
    encodeMessageSet({ magic: 1, compression, messages })
  );
  for (let iter = 0; iter < 2000; iter++) {
    const input = seeds[iter % seeds.length]!.slice();
    const at = Math.floor(rand() * input.length);
    input[at] = Math.floor(rand() * 256);
    try {
      decodeMessageSet(input.subarray(0, Math.floor(rand() * (input.length + 1))));
    } catch (e) {
      assert.ok(isCorrupt(e), `iteration ${iter}: ${e}`);
    }
  }
});

Deno.test("down-conversion writes one legacy message per record at its own offset", () => {
  // Kafka's RecordsUtil.downConvert, for Fetch v0-v3 clients.
  const gzipped = encodeBatch({
    baseOffset: 10,
    baseTimestamp: 5000,
    compression: 1,
    records: [
      { offsetDelta: 0, timestampDelta: 0, key: ascii("a"), value: ascii("1"), headers: [] },
      { offsetDelta: 2, timestampDelta: 7, key: null, value: ascii("2"), headers: [] },
    ],
  });
  const marker = encodeBatch({
    baseOffset: 13,
    control: true,
    transactional: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: encodeControlKey(ControlRecordType.COMMIT),
      value: new Uint8Array(6),
      headers: [],
    }],
  });
  const appendTime = encodeBatch({
    baseOffset: 14,
    baseTimestamp: 100,
    maxTimestamp: 9000,
    timestampType: 1,
    records: [{ offsetDelta: 0, timestampDelta: 3, key: null, value: ascii("3"), headers: [] }],
  });
  const partial = appendTime.subarray(0, 20);
  const stored = new Uint8Array([...gzipped, ...marker, ...appendTime, ...partial]);

  const v1 = decodeMessageSet(downConvertBatches(stored, { magic: 1, fromOffset: 0 }));
  assert.deepEqual(
    v1.map((m) => [m.offset, m.magic, m.timestamp, m.timestampType, m.value?.[0]]),
    [[10, 1, 5000, 0, 0x31], [12, 1, 5007, 0, 0x32], [14, 1, 9000, 1, 0x33]],
  );
  assert.deepEqual(v1[0]!.key, ascii("a"));

  const v0 = decodeMessageSet(downConvertBatches(stored, { magic: 0, fromOffset: 12 }));
  assert.deepEqual(v0.map((m) => [m.offset, m.magic, m.timestamp]), [[12, 0, -1], [14, 0, -1]]);
});

Deno.test("down-conversion of nothing is an empty message set", () => {
  assert.equal(downConvertBatches(new Uint8Array(0), { magic: 1, fromOffset: 0 }).length, 0);
});

Deno.test("down-conversion stops at the size limit but always yields the first message", () => {
  const value = new Uint8Array(100);
  const batch = encodeBatch({
    baseOffset: 0,
    compression: 1,
    records: [0, 1, 2, 3].map((i) => ({
      offsetDelta: i,
      timestampDelta: 0,
      key: null,
      value,
      headers: [],
    })),
  });
  const one = 12 + 22 + 100; // entry overhead + v1 message overhead + value
  const offsets = (sizeBytesMax: number) =>
    decodeMessageSet(downConvertBatches(batch, { magic: 1, fromOffset: 0, sizeBytesMax }))
      .map((m) => m.offset);
  assert.deepEqual(offsets(1), [0]);
  assert.deepEqual(offsets(2 * one), [0, 1]);
  assert.deepEqual(offsets(2 * one + 10), [0, 1]);
  assert.deepEqual(offsets(Infinity), [0, 1, 2, 3]);
});
