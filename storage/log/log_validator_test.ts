import assert from "node:assert/strict";
import { compress } from "../../net/protocol/compression.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  computeBatchCrc,
  CRC_OFFSET,
  readBatchHeader,
  timestampType,
  verifyBatchCrc,
} from "../../net/protocol/record_batch.ts";
import {
  decodeBatch,
  encodeBatch,
  encodeRecords,
  type Record,
} from "../../net/protocol/records.ts";
import { logConfigFromProperties } from "./log_config.ts";
import {
  type ClientBatchRules,
  clientBatchRules,
  maxTimestampOfRecords,
  RecordValidationError,
  untrustedMaxTimestamp,
  validateClientBatches,
} from "./log_validator.ts";

const NOW_MS = 1_700_000_000_000;
const LONG_MAX = 9223372036854775807;
const CODECS = [0, 1, 2, 3, 4];

function rules(overrides: Partial<ClientBatchRules> = {}): ClientBatchRules {
  return {
    topicPartition: "orders-0",
    timestampType: "CreateTime",
    nowMs: NOW_MS,
    timestampBeforeMaxMs: LONG_MAX,
    timestampAfterMaxMs: LONG_MAX,
    compacted: false,
    maxMessageBytes: 1048588,
    ...overrides,
  };
}

function record(offsetDelta: number, timestampDelta: number, key: string | null = "k"): Record {
  return {
    offsetDelta,
    timestampDelta,
    key: key === null ? null : new TextEncoder().encode(key),
    value: new Uint8Array(100).fill(offsetDelta),
    headers: [{ key: "h", value: null }],
  };
}

/** A Sarama-style batch: real record timestamps, header max timestamp as the client wrote it. */
function clientBatch(
  compression: number,
  maxTimestamp: number,
  deltas = [0, 30, 10],
): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS - 1_000,
    maxTimestamp,
    compression,
    records: deltas.map((d, i) => record(i, d)),
  });
}

/** A batch around hand-written record bytes (for inputs encodeBatch refuses to produce). */
function batchAround(body: Uint8Array, count: number, compression = 0): Uint8Array {
  const shell = encodeBatch({ baseOffset: 0, baseTimestamp: NOW_MS, records: [], compression });
  const payload = compress(compression, body);
  const out = new Uint8Array(BATCH_HEADER_BYTES + payload.length);
  out.set(shell.subarray(0, BATCH_HEADER_BYTES));
  out.set(payload, BATCH_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setInt32(8, out.length - 12);
  view.setInt32(23, count - 1);
  view.setInt32(57, count);
  view.setUint32(CRC_OFFSET, computeBatchCrc(out, 0));
  return out;
}

function refusal(fn: () => unknown): KafkaError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KafkaError, `expected a KafkaError, got ${error}`);
    return error;
  }
  assert.fail("the batch was accepted");
}

Deno.test("a CreateTime batch whose header max timestamp is -1 gets the max of its records, for every codec", () => {
  for (const codec of CODECS) {
    const stored = validateClientBatches(clientBatch(codec, -1), rules());
    const h = readBatchHeader(stored, 0);
    assert.equal(h.maxTimestamp, NOW_MS - 1_000 + 30, `codec ${codec}`);
    assert.equal(timestampType(h.attributes), 0);
    assert.ok(verifyBatchCrc(stored, 0), `codec ${codec}: the CRC covers the new max timestamp`);
  }
});

Deno.test("a header max timestamp above every record's timestamp is corrected down, for every codec", () => {
  for (const codec of CODECS) {
    const stored = validateClientBatches(clientBatch(codec, NOW_MS + 99_999), rules());
    assert.equal(readBatchHeader(stored, 0).maxTimestamp, NOW_MS - 1_000 + 30, `codec ${codec}`);
    assert.ok(verifyBatchCrc(stored, 0));
  }
});

Deno.test("a batch that is already right is stored byte for byte as sent", () => {
  const sent = clientBatch(4, NOW_MS - 1_000 + 30);
  const copy = sent.slice();
  const stored = validateClientBatches(sent, rules());
  assert.equal(stored, sent);
  assert.deepEqual(stored, copy);
});

Deno.test("a LogAppendTime topic stamps the batch with the broker's time and type bit", () => {
  for (const codec of CODECS) {
    const stored = validateClientBatches(
      clientBatch(codec, -1),
      rules({ timestampType: "LogAppendTime" }),
    );
    const h = readBatchHeader(stored, 0);
    assert.equal(h.maxTimestamp, NOW_MS);
    assert.equal(timestampType(h.attributes), 1);
    assert.ok(verifyBatchCrc(stored, 0));
  }
});

Deno.test("a producer may not set LogAppendTime on a LogAppendTime topic (INVALID_TIMESTAMP)", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    timestampType: 1,
    records: [record(0, 0)],
  });
  const error = refusal(() =>
    validateClientBatches(sent, rules({ timestampType: "LogAppendTime" }))
  );
  assert.equal(error.code, ErrorCode.INVALID_TIMESTAMP);
  assert.ok(error instanceof RecordValidationError);
  assert.deepEqual(error.recordErrors, [{
    batchIndex: 0,
    message: `Invalid timestamp type in message DefaultRecord(offset=0, timestamp=${NOW_MS}, ` +
      "key=1 bytes, value=100 bytes). Producer should not set timestamp type to LogAppendTime.",
  }]);
});

Deno.test("timestamps outside before.max.ms / after.max.ms are refused per record (KIP-937, KIP-467)", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS - 10_000,
    records: [record(0, 0), record(1, 9_000), record(2, 20_000)],
  });
  const before = sent.slice();
  const error = refusal(() =>
    validateClientBatches(sent, rules({ timestampBeforeMaxMs: 5_000, timestampAfterMaxMs: 5_000 }))
  );
  assert.equal(error.code, ErrorCode.INVALID_TIMESTAMP);
  assert.equal(error.message, "One or more records have been rejected due to invalid timestamp");
  assert.ok(error instanceof RecordValidationError);
  const range = `[${NOW_MS - 5_000}, ${NOW_MS + 5_000}]`;
  assert.deepEqual(error.recordErrors, [
    {
      batchIndex: 0,
      message: `Timestamp ${NOW_MS - 10_000} of message with offset 0 is out of range. ` +
        `The timestamp should be within ${range}`,
    },
    {
      batchIndex: 2,
      message: `Timestamp ${NOW_MS + 10_000} of message with offset 2 is out of range. ` +
        `The timestamp should be within ${range}`,
    },
  ]);
  assert.deepEqual(sent, before, "a refused batch is not patched");
});

Deno.test("the unbounded side of the timestamp range prints as Java's wrapped long", () => {
  const sent = encodeBatch({ baseOffset: 0, baseTimestamp: 0, records: [record(0, 0)] });
  const error = refusal(() => validateClientBatches(sent, rules({ timestampBeforeMaxMs: 1_000 })));
  assert.ok(error instanceof RecordValidationError);
  const upper = BigInt.asIntN(64, BigInt(NOW_MS) + 9223372036854775807n);
  assert.match(error.recordErrors[0]!.message, new RegExp(`\\[${NOW_MS - 1_000}, ${upper}\\]$`));
});

Deno.test("a LogAppendTime topic does not check the producer's timestamps", () => {
  const sent = encodeBatch({ baseOffset: 0, baseTimestamp: 0, records: [record(0, 0)] });
  const stored = validateClientBatches(
    sent,
    rules({ timestampType: "LogAppendTime", timestampBeforeMaxMs: 0, timestampAfterMaxMs: 0 }),
  );
  assert.equal(readBatchHeader(stored, 0).maxTimestamp, NOW_MS);
});

Deno.test("a compacted topic refuses records without a key, listing each (INVALID_RECORD)", () => {
  for (const codec of CODECS) {
    const sent = encodeBatch({
      baseOffset: 0,
      baseTimestamp: NOW_MS,
      compression: codec,
      records: [record(0, 0, null), record(1, 0), record(2, 0, null)],
    });
    const error = refusal(() => validateClientBatches(sent, rules({ compacted: true })));
    assert.equal(error.code, ErrorCode.INVALID_RECORD);
    assert.ok(error instanceof RecordValidationError);
    const message = "Compacted topic cannot accept message without key in topic partition orders-0";
    assert.deepEqual(error.recordErrors, [
      { batchIndex: 0, message },
      { batchIndex: 2, message },
    ]);
    assert.equal(
      error.message,
      "One or more records have been rejected due to 2 record errors in total, and only showing " +
        `the first three errors at most: [RecordError(batchIndex=0, message='${message}'), ` +
        `RecordError(batchIndex=2, message='${message}')]`,
    );
  }
});

Deno.test("a timestamp error outranks a key error in the same batch", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: 0,
    records: [record(0, 0, null), record(1, 0)],
  });
  const error = refusal(() =>
    validateClientBatches(sent, rules({ compacted: true, timestampBeforeMaxMs: 1 }))
  );
  assert.equal(error.code, ErrorCode.INVALID_TIMESTAMP);
  assert.equal((error as RecordValidationError).recordErrors.length, 2);
});

Deno.test("a record count that disagrees with lastOffsetDelta is INVALID_RECORD", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    lastOffsetDelta: 5,
    records: [record(0, 0), record(1, 0)],
  });
  const error = refusal(() => validateClientBatches(sent, rules()));
  assert.equal(error.code, ErrorCode.INVALID_RECORD);
  assert.equal(
    error.message,
    "Inconsistent batch offset range [0, 5] and count of records 2 in topic partition orders-0",
  );
});

Deno.test("a header count above the records the batch holds is INVALID_RECORD, for every codec", () => {
  for (const codec of CODECS) {
    const body = encodeRecords([record(0, 0), record(1, 0)]);
    const error = refusal(() => validateClientBatches(batchAround(body, 3, codec), rules()));
    assert.equal(error.code, ErrorCode.INVALID_RECORD, `codec ${codec}`);
    assert.equal(error.message, "Incorrect declared batch size, premature EOF reached");
  }
});

Deno.test("records left after the declared count are INVALID_RECORD", () => {
  const body = encodeRecords([record(0, 0), record(1, 0)]);
  const error = refusal(() => validateClientBatches(batchAround(body, 1), rules()));
  assert.equal(error.code, ErrorCode.INVALID_RECORD);
  assert.equal(error.message, "Incorrect declared batch size, records still remaining in file");
});

Deno.test("a null header key is INVALID_RECORD, for every codec", () => {
  // 8 body bytes: attributes, timestampDelta 0, offsetDelta 0, key null, value null, 1 header
  // whose key length is -1 and value null. Varints are zigzag: -1 -> 1, 1 -> 2, 8 -> 16.
  const body = new Uint8Array([16, 0, 0, 0, 1, 1, 2, 1, 1]);
  for (const codec of CODECS) {
    const error = refusal(() => validateClientBatches(batchAround(body, 1, codec), rules()));
    assert.equal(error.code, ErrorCode.INVALID_RECORD, `codec ${codec}`);
    assert.equal(error.message, "Invalid negative header key size -1");
  }
});

Deno.test("a client batch must start at offset 0", () => {
  const sent = encodeBatch({ baseOffset: 7, baseTimestamp: NOW_MS, records: [record(0, 0)] });
  const error = refusal(() => validateClientBatches(sent, rules()));
  assert.equal(error.code, ErrorCode.INVALID_RECORD);
  assert.equal(
    error.message,
    "The baseOffset of the record batch in the append to orders-0 should be 0, but it is 7",
  );
});

Deno.test("a batch whose CRC does not match is CORRUPT_MESSAGE", () => {
  const sent = clientBatch(0, -1);
  sent[sent.length - 1]! ^= 0xff;
  const error = refusal(() => validateClientBatches(sent, rules()));
  assert.equal(error.code, ErrorCode.CORRUPT_MESSAGE);
  assert.match(
    error.message,
    /^Record is corrupt \(stored crc = \d+\) in topic partition orders-0\.$/,
  );
});

Deno.test("a compressed payload that does not decompress is CORRUPT_MESSAGE", () => {
  for (const codec of [1, 2, 3, 4]) {
    const garbage = new Uint8Array(64).fill(0x5a);
    const sent = batchAround(garbage, 1, 0);
    const view = new DataView(sent.buffer);
    view.setInt16(ATTRIBUTES_OFFSET, codec);
    view.setUint32(CRC_OFFSET, computeBatchCrc(sent, 0));
    const error = refusal(() => validateClientBatches(sent, rules()));
    assert.equal(error.code, ErrorCode.CORRUPT_MESSAGE, `codec ${codec}`);
  }
});

Deno.test("control batches, sequence-less producers and second batches are INVALID_RECORD", () => {
  const control = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    control: true,
    records: [record(0, 0)],
  });
  assert.equal(
    refusal(() => validateClientBatches(control, rules())).message,
    "Clients are not allowed to write control records in topic partition orders-0",
  );
  const noSequence = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    producerId: 5,
    producerEpoch: 0,
    records: [record(0, 0)],
  });
  assert.equal(
    refusal(() => validateClientBatches(noSequence, rules())).message,
    "Invalid sequence number -1 in record batch with producerId 5 in topic partition orders-0",
  );
  const one = clientBatch(0, -1);
  const two = new Uint8Array(one.length * 2);
  two.set(one, 0);
  two.set(one, one.length);
  const error = refusal(() => validateClientBatches(two, rules()));
  assert.equal(error.code, ErrorCode.INVALID_RECORD);
  assert.equal(error.message, "Compressed outer record has more than one batch");
});

Deno.test("a batch above max.message.bytes is MESSAGE_TOO_LARGE before its records are read", () => {
  const sent = clientBatch(0, -1);
  const error = refusal(() => validateClientBatches(sent, rules({ maxMessageBytes: 100 })));
  assert.equal(error.code, ErrorCode.MESSAGE_TOO_LARGE);
});

Deno.test("a compressed batch with offset deltas other than 0..n-1 is rebuilt with dense deltas", () => {
  for (const codec of [1, 2, 3, 4]) {
    const sent = encodeBatch({
      baseOffset: 0,
      baseTimestamp: NOW_MS - 500,
      maxTimestamp: -1,
      compression: codec,
      producerId: 9,
      producerEpoch: 2,
      baseSequence: 40,
      lastOffsetDelta: 2,
      records: [record(0, 0), record(4, 200), record(9, 100)],
    });
    const stored = validateClientBatches(sent, rules());
    const { header, records } = decodeBatch(stored);
    assert.deepEqual(records.map((r) => r.offsetDelta), [0, 1, 2], `codec ${codec}`);
    assert.equal(header.maxTimestamp, NOW_MS - 300);
    assert.equal(header.lastOffsetDelta, 2);
    assert.deepEqual(
      [header.producerId, header.producerEpoch, header.baseSequence],
      [9, 2, 40],
    );
    assert.equal(header.attributes & 0x07, codec);
    assert.deepEqual(records[1]!.value, new Uint8Array(100).fill(4)); // the record sent second
  }
});

Deno.test("an uncompressed batch keeps its offset deltas, as Kafka stores it", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    lastOffsetDelta: 1,
    records: [record(0, 0), record(3, 5)],
  });
  const stored = validateClientBatches(sent, rules());
  assert.deepEqual(decodeBatch(stored).records.map((r) => r.offsetDelta), [0, 3]);
  assert.equal(readBatchHeader(stored, 0).maxTimestamp, NOW_MS + 5);
});

Deno.test("a batch flagged LogAppendTime on a CreateTime topic becomes CreateTime", () => {
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    maxTimestamp: NOW_MS + 3,
    timestampType: 1,
    records: [record(0, 0), record(1, 1)],
  });
  const stored = validateClientBatches(sent, rules());
  const h = readBatchHeader(stored, 0);
  assert.equal(timestampType(h.attributes), 0);
  // Kafka reads a LogAppendTime batch's records at its max timestamp, so that is the new max.
  assert.equal(h.maxTimestamp, NOW_MS + 3);
});

Deno.test("the rules come from the topic's message.timestamp.*, cleanup.policy and max.message.bytes", () => {
  const config = logConfigFromProperties({
    "message.timestamp.type": "LogAppendTime",
    "message.timestamp.before.max.ms": "3600000",
    "message.timestamp.after.max.ms": "60000",
    "cleanup.policy": "compact,delete",
    "max.message.bytes": "2048",
  });
  assert.deepEqual(clientBatchRules(config, { topicPartition: "t-1", nowMs: 5 }), {
    topicPartition: "t-1",
    timestampType: "LogAppendTime",
    nowMs: 5,
    timestampBeforeMaxMs: 3_600_000,
    timestampAfterMaxMs: 60_000,
    compacted: true,
    maxMessageBytes: 2048,
    targetCodec: null,
    compressOptions: { gzipLevel: undefined, zstdLevel: 3 },
  });
  const zstd = logConfigFromProperties({
    "compression.type": "zstd",
    "compression.zstd.level": "9",
    "compression.gzip.level": "1",
  });
  const zstdRules = clientBatchRules(zstd, { topicPartition: "t-1", nowMs: 5 });
  assert.equal(zstdRules.targetCodec, 4);
  assert.deepEqual(zstdRules.compressOptions, { gzipLevel: 1, zstdLevel: 9 });
  assert.throws(() => logConfigFromProperties({ "compression.type": "brotli" }), RangeError);
});

Deno.test("a topic's compression.type recompresses batches of another codec; producer keeps them", () => {
  const sent = (codec: number) =>
    encodeBatch({
      baseOffset: 0,
      baseTimestamp: NOW_MS,
      compression: codec,
      producerId: 7,
      producerEpoch: 1,
      baseSequence: 12,
      transactional: true,
      records: [record(0, 0), record(1, 4), record(2, 9)],
    });
  for (const from of CODECS) {
    for (const to of CODECS) {
      const original = decodeBatch(sent(from));
      const stored = validateClientBatches(sent(from), rules({ targetCodec: to }));
      assert.ok(verifyBatchCrc(stored, 0), `${from} -> ${to}: CRC`);
      const { header, records } = decodeBatch(stored);
      assert.equal(header.attributes & 0x07, to, `${from} -> ${to}: codec`);
      assert.deepEqual(records, original.records, `${from} -> ${to}: records`);
      assert.deepEqual(
        [header.producerId, header.producerEpoch, header.baseSequence, header.maxTimestamp],
        [7, 1, 12, NOW_MS + 9],
      );
      assert.equal(header.attributes & 0x10, 0x10, "still transactional");
    }
    const kept = sent(from);
    assert.equal(validateClientBatches(kept, rules({ targetCodec: null })), kept, "producer");
  }
});

Deno.test("a batch that grows beyond max.message.bytes when recompressed is MESSAGE_TOO_LARGE", () => {
  const values = Array.from(
    { length: 50 },
    (_, i) => ({ ...record(i, 0), value: new Uint8Array(200) }),
  );
  const sent = encodeBatch({
    baseOffset: 0,
    baseTimestamp: NOW_MS,
    compression: 4,
    records: values,
  });
  const limit = sent.length + 100; // the zstd batch fits; uncompressed it is ~10 KiB
  assert.equal(validateClientBatches(sent, rules({ maxMessageBytes: limit })).length, sent.length);
  const refused = refusal(() =>
    validateClientBatches(sent, rules({ maxMessageBytes: limit, targetCodec: 0 }))
  );
  assert.equal(refused.code, ErrorCode.MESSAGE_TOO_LARGE);
});

Deno.test("the deprecated message.timestamp.difference.max.ms bounds each side left unset (Kafka 3.6+)", () => {
  const config = logConfigFromProperties({
    "message.timestamp.difference.max.ms": "1000",
    "message.timestamp.after.max.ms": "50",
  });
  assert.equal(config.messageTimestampBeforeMaxMs, 1000);
  assert.equal(config.messageTimestampAfterMaxMs, 50);
  const defaults = logConfigFromProperties({});
  assert.equal(defaults.messageTimestampBeforeMaxMs, LONG_MAX);
});

Deno.test("a stored CreateTime header whose max is below its first timestamp is not trusted", () => {
  for (const codec of CODECS) {
    const stored = clientBatch(codec, -1);
    const h = readBatchHeader(stored, 0);
    assert.equal(untrustedMaxTimestamp(h), true);
    assert.equal(maxTimestampOfRecords(stored), NOW_MS - 1_000 + 30, `codec ${codec}`);
  }
  const right = readBatchHeader(clientBatch(0, NOW_MS - 1_000 + 30), 0);
  assert.equal(untrustedMaxTimestamp(right), false);
  const appendTime = { attributes: 0x08, baseTimestamp: 10, maxTimestamp: 5 };
  assert.equal(untrustedMaxTimestamp(appendTime), false, "LogAppendTime headers are the broker's");
  const cleaned = { attributes: 0x40, baseTimestamp: 10, maxTimestamp: 5 };
  assert.equal(untrustedMaxTimestamp(cleaned), false, "a delete horizon sits above the records");
});
