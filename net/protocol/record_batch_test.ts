import assert from "node:assert/strict";
import { crc32, crc32c } from "./crc32c.ts";
import {
  BATCH_HEADER_BYTES,
  batchesIn,
  batchSizeAt,
  compressionOf,
  CorruptBatchError,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  LOG_OVERHEAD_BYTES,
  magicAt,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  timestampType,
  verifyBatchCrc,
} from "./record_batch.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/**
 * One-record batch built by hand from the DefaultRecordBatch / DefaultRecord layout: baseOffset 5,
 * epoch 7, CreateTime 1_700_000_000_000, idempotent producer 42/3/seq 9, record with null key and
 * value "a".
 */
function handBuiltBatch(): Uint8Array {
  const record = [0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 0x61, 0x00]; // len=7 attrs tsΔ offΔ key=-1 vlen=1 'a' hdrs=0
  const buf = new Uint8Array(BATCH_HEADER_BYTES + record.length);
  const v = new DataView(buf.buffer);
  v.setBigInt64(0, 5n);
  v.setInt32(8, buf.length - LOG_OVERHEAD_BYTES);
  v.setInt32(12, 7);
  v.setInt8(16, 2);
  v.setInt16(21, 0);
  v.setInt32(23, 0);
  v.setBigInt64(27, 1_700_000_000_000n);
  v.setBigInt64(35, 1_700_000_000_000n);
  v.setBigInt64(43, 42n);
  v.setInt16(51, 3);
  v.setInt32(53, 9);
  v.setInt32(57, 1);
  buf.set(record, 61);
  v.setUint32(17, crc32c(buf.subarray(21)));
  return buf;
}

Deno.test("crc32c matches the Castagnoli check value for '123456789'", () => {
  assert.deepEqual(crc32c(ascii("123456789")), 0xe3069283);
  assert.deepEqual(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 B.4: 32 bytes of zeros and 32 bytes of 0xff.
  assert.deepEqual(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.deepEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
});

Deno.test("crc32 matches the IEEE check value for '123456789'", () => {
  assert.deepEqual(crc32(ascii("123456789")), 0xcbf43926);
});

Deno.test("crc32c gives the same answer on the table path and the wasm path", () => {
  const data = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
  // Chain: CRC of a large input equals the CRC computed byte-by-byte with a reference table.
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  assert.deepEqual(crc32c(data), (c ^ 0xffffffff) >>> 0);
});

Deno.test("readBatchHeader reads every field of a hand-built batch", () => {
  const buf = handBuiltBatch();
  const h = readBatchHeader(buf, 0);
  assert.deepEqual(h, {
    baseOffset: 5,
    batchLength: 57,
    partitionLeaderEpoch: 7,
    magic: 2,
    crc: crc32c(buf.subarray(21)),
    attributes: 0,
    lastOffsetDelta: 0,
    baseTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 9,
    recordCount: 1,
  });
  assert.deepEqual(batchSizeAt(buf, 0), 69);
  assert.deepEqual(magicAt(buf, 0), 2);
  assert(verifyBatchCrc(buf, 0));
});

Deno.test("batchSizeAt returns null when fewer than 12 bytes remain", () => {
  assert.deepEqual(batchSizeAt(new Uint8Array(11), 0), null);
  assert.deepEqual(batchSizeAt(handBuiltBatch(), 60), null);
});

Deno.test("batchSizeAt rejects a length below the smallest legal message", () => {
  const buf = handBuiltBatch();
  new DataView(buf.buffer).setInt32(8, -1);
  assert.throws(() => batchSizeAt(buf, 0), (e) => e instanceof CorruptBatchError && e.code === 2);
});

Deno.test("readBatchHeader throws a CorruptBatchError with code 2 on a short buffer", () => {
  const buf = handBuiltBatch();
  assert.throws(
    () => readBatchHeader(buf.subarray(0, 60), 0),
    (e) => e instanceof CorruptBatchError && e.code === 2,
  );
  assert.throws(() => readBatchHeader(buf.subarray(0, 68), 0), CorruptBatchError);
});

Deno.test("readBatchHeader rejects magic other than 2 and unsafe int64 fields", () => {
  const buf = handBuiltBatch();
  buf[16] = 1;
  assert.throws(() => readBatchHeader(buf, 0), CorruptBatchError);
  const unsafe = handBuiltBatch();
  new DataView(unsafe.buffer).setBigInt64(43, 1n << 60n);
  assert.throws(() => readBatchHeader(unsafe, 0), CorruptBatchError);
});

Deno.test("flipping any bit covered by the CRC makes verifyBatchCrc fail", () => {
  const buf = handBuiltBatch();
  for (let i = 21; i < buf.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      buf[i]! ^= 1 << bit;
      assert(!verifyBatchCrc(buf, 0), `flip of byte ${i} bit ${bit} went unnoticed`);
      buf[i]! ^= 1 << bit;
    }
  }
  assert(verifyBatchCrc(buf, 0));
});

Deno.test("setBaseOffset and setPartitionLeaderEpoch patch in place without touching the CRC", () => {
  const buf = handBuiltBatch();
  const crcBefore = readBatchHeader(buf, 0).crc;
  setBaseOffset(buf, 0, 2 ** 40 + 3);
  setPartitionLeaderEpoch(buf, 0, 99);
  const h = readBatchHeader(buf, 0);
  assert.deepEqual(h.baseOffset, 2 ** 40 + 3);
  assert.deepEqual(h.partitionLeaderEpoch, 99);
  assert.deepEqual(h.crc, crcBefore);
  assert(verifyBatchCrc(buf, 0));
});

Deno.test("setLogAppendTime sets the timestamp type and maxTimestamp and keeps the CRC valid", () => {
  const buf = handBuiltBatch();
  setLogAppendTime(buf, 0, 1_800_000_000_123);
  const h = readBatchHeader(buf, 0);
  assert.deepEqual(timestampType(h.attributes), 1);
  assert.deepEqual(h.maxTimestamp, 1_800_000_000_123);
  assert.deepEqual(h.baseTimestamp, 1_700_000_000_000);
  assert(verifyBatchCrc(buf, 0));
});

Deno.test("attribute helpers decode each bit as Kafka defines it", () => {
  assert.deepEqual(compressionOf(0x0034), 4);
  assert(isTransactional(0x10) && !isTransactional(0x20));
  assert(isControl(0x20) && !isControl(0x10));
  assert.deepEqual(timestampType(0x08), 1);
  assert.deepEqual(timestampType(0x07), 0);
  assert(hasDeleteHorizon(0x40));
});

Deno.test("batchesIn yields whole batches and stops at a partial trailing batch", () => {
  const one = handBuiltBatch();
  const set = new Uint8Array(one.length * 3 - 10);
  set.set(one, 0);
  set.set(one, one.length);
  set.set(one.subarray(0, one.length - 10), one.length * 2);
  assert.deepEqual([...batchesIn(set)], [{ pos: 0, sizeBytes: 69 }, { pos: 69, sizeBytes: 69 }]);
  assert.deepEqual([...batchesIn(new Uint8Array(0))], []);
  assert.deepEqual([...batchesIn(set.subarray(0, 75))], [{ pos: 0, sizeBytes: 69 }]);
});

Deno.test("helpers work on a batch at a non-zero position inside a larger view", () => {
  const one = handBuiltBatch();
  const backing = new Uint8Array(one.length + 20);
  backing.set(one, 13);
  const view = backing.subarray(3);
  assert.deepEqual(readBatchHeader(view, 10).baseOffset, 5);
  assert(verifyBatchCrc(view, 10));
  setLogAppendTime(view, 10, 123);
  assert(verifyBatchCrc(view, 10));
});
