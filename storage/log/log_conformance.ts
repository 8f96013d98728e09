/**
 * The one conformance suite every {@link PartitionLog} implementation passes (the in-memory log
 * and the file log): appends, reads, validation errors, timestamps, epochs, truncation,
 * retention, and a seeded random walk checked against a simple model.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SeededRandom } from "../../core/random.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import { LogError, LogErrorCode } from "./log_error.ts";
import type { PartitionLog } from "./partition_log.ts";
import { batchOffsets, concatBytes, makeBatch } from "./test_batches.ts";

/** A log made for one test, and how to dispose of it. */
export interface LogUnderTest {
  log: PartitionLog;
  /** Closes and reopens the log (file logs), returning the new instance. */
  reopen?: () => Promise<PartitionLog>;
  cleanup(): Promise<void>;
}

/** Makes a fresh, empty log with `config`. */
export type LogFactory = (config: LogConfig) => Promise<LogUnderTest>;

const NOW_MS = 1_700_000_000_000;

async function withLog(
  factory: LogFactory,
  config: LogConfig,
  body: (t: LogUnderTest) => Promise<void>,
): Promise<void> {
  const t = await factory(config);
  try {
    await body(t);
  } finally {
    await t.cleanup();
  }
}

async function assertLogError(promise: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof LogError, `expected a LogError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

/**
 * Registers the suite with `Deno.test` under `name`.
 *
 * @example
 * ```ts ignore
 * import { runLogConformance } from "./log_conformance.ts";
 * import { MemoryLog } from "./memory_log.ts";
 * runLogConformance("memory log", (config) =>
 *   Promise.resolve({ log: new MemoryLog({ config }), cleanup: () => Promise.resolve() }));
 * ```
 */
export function runLogConformance(name: string, factory: LogFactory): void {
  const test = (title: string, config: LogConfig, body: (t: LogUnderTest) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, () => withLog(factory, config, body));

  test(
    "an append assigns consecutive offsets and stamps the leader epoch",
    logConfig(),
    async ({ log }) => {
      const first = await log.append(makeBatch({ records: 3 }), { leaderEpoch: 5, nowMs: NOW_MS });
      assert.deepEqual([first.baseOffset, first.lastOffset, first.logStartOffset], [0, 2, 0]);
      assert.equal(first.logAppendTimeMs, -1);
      const second = await log.append(concatBytes([makeBatch({ records: 2 }), makeBatch()]), {
        leaderEpoch: 5,
        nowMs: NOW_MS,
      });
      assert.deepEqual([second.baseOffset, second.lastOffset, second.batchCount], [3, 5, 2]);
      assert.equal(log.logEndOffset, 6);
      const { records } = await log.read(0, { maxBytes: 1 << 20 });
      assert.deepEqual(batchOffsets(records), [
        { base: 0, last: 2 },
        { base: 3, last: 4 },
        { base: 5, last: 5 },
      ]);
      const view = new DataView(records.buffer, records.byteOffset);
      assert.equal(view.getInt32(12), 5, "partitionLeaderEpoch");
      assert.deepEqual(log.epochEntries(), [{ epoch: 5, startOffset: 0 }]);
    },
  );

  test("stored batches are byte-identical to the appended ones", logConfig(), async ({ log }) => {
    const sent = makeBatch({ records: 4, valueBytes: 300 });
    await log.append(sent, { leaderEpoch: 0, nowMs: NOW_MS });
    const { records } = await log.read(0, { maxBytes: 1 << 20 });
    assert.deepEqual(records, sent, "offset and epoch were patched into the sent buffer");
  });

  test(
    "a read honours maxBytes, minOneMessage and maxOffset with whole batches",
    logConfig(),
    async ({ log }) => {
      for (let i = 0; i < 5; i++) {
        await log.append(makeBatch({ records: 2, valueBytes: 200 }), {
          leaderEpoch: 0,
          nowMs: NOW_MS,
        });
      }
      const one = (await log.read(0, { maxBytes: 1 })).records;
      assert.deepEqual(
        batchOffsets(one),
        [{ base: 0, last: 1 }],
        "minOneMessage returns one batch",
      );
      const none = await log.read(0, { maxBytes: 1, minOneMessage: false });
      assert.equal(none.records.length, 0);
      const size = one.length;
      const two = await log.read(3, { maxBytes: size * 2 + 10 });
      assert.deepEqual(
        batchOffsets(two.records).map((b) => b.base),
        [2, 4],
        "starts at the batch holding 3",
      );
      assert.equal(two.firstOffset, 2);
      const bounded = await log.read(0, { maxBytes: 1 << 20, maxOffset: 6 });
      assert.deepEqual(batchOffsets(bounded.records).map((b) => b.last), [1, 3, 5]);
      const midBound = await log.read(0, { maxBytes: 1 << 20, maxOffset: 5 });
      assert.deepEqual(
        batchOffsets(midBound.records).map((b) => b.last),
        [1, 3],
        "a batch crossing the bound stays out",
      );
      const atEnd = await log.read(10, { maxBytes: 100 });
      assert.equal(atEnd.records.length, 0);
      assert.equal(atEnd.logEndOffset, 10);
      await assertLogError(log.read(11, { maxBytes: 100 }), LogErrorCode.OFFSET_OUT_OF_RANGE);
      await assertLogError(log.read(-1, { maxBytes: 100 }), LogErrorCode.OFFSET_OUT_OF_RANGE);
    },
  );

  test(
    "bad batches are refused with Kafka error codes and leave the log unchanged",
    logConfig({ maxMessageBytes: 2000 }),
    async ({ log }) => {
      const good = makeBatch();
      const badCrc = makeBatch();
      badCrc[badCrc.length - 1]! ^= 0xff;
      await assertLogError(
        log.append(badCrc, { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      const badMagic = makeBatch();
      badMagic[16] = 1;
      await assertLogError(
        log.append(badMagic, { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      await assertLogError(
        log.append(good.subarray(0, good.length - 3), { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      await assertLogError(
        log.append(good.subarray(0, 20), { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      const big = makeBatch({ valueBytes: 3000 });
      await assertLogError(
        log.append(big, { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.MESSAGE_TOO_LARGE,
      );
      const miscounted = makeBatch({ records: 2 });
      new DataView(miscounted.buffer).setInt32(57, 3);
      await assertLogError(
        log.append(miscounted, { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      await assertLogError(
        log.append(concatBytes([makeBatch(), badCrc]), { leaderEpoch: 0, nowMs: NOW_MS }),
        LogErrorCode.CORRUPT_MESSAGE,
      );
      assert.equal(log.logEndOffset, 0);
      const empty = await log.append(new Uint8Array(0), { leaderEpoch: 0, nowMs: NOW_MS });
      assert.equal(empty.baseOffset, -1);
    },
  );

  test(
    "LogAppendTime replaces the max timestamp and keeps the CRC valid",
    logConfig({ messageTimestampType: "LogAppendTime" }),
    async ({ log }) => {
      const result = await log.append(makeBatch({ records: 2, timestampMs: 5 }), {
        leaderEpoch: 0,
        nowMs: 777_000,
      });
      assert.equal(result.logAppendTimeMs, 777_000);
      const again = await log.read(0, { maxBytes: 1 << 20 });
      const view = new DataView(again.records.buffer, again.records.byteOffset);
      assert.equal(view.getUint32(35) + view.getInt32(39 - 4) * 0, 0, "high word of max timestamp");
      assert.equal(view.getUint32(39), 777_000);
      assert.equal(view.getInt16(21) & 0x08, 0x08, "timestamp type bit");
      assert.equal(log.maxTimestampAndOffset()?.timestamp, 777_000);
    },
  );

  test(
    "offsetForTimestamp finds the first record at or after a timestamp",
    logConfig({ indexIntervalBytes: 100 }),
    async ({ log }) => {
      for (let i = 0; i < 20; i++) {
        await log.append(
          makeBatch({
            records: 5,
            timestampMs: 10_000 + i * 100,
            timestampStepMs: 10,
            valueBytes: 50,
          }),
          { leaderEpoch: 1, nowMs: NOW_MS },
        );
      }
      assert.deepEqual(log.offsetForTimestamp(0), { timestamp: 10_000, offset: 0, leaderEpoch: 1 });
      assert.deepEqual(log.offsetForTimestamp(10_520), {
        timestamp: 10_520,
        offset: 27,
        leaderEpoch: 1,
      });
      assert.deepEqual(log.offsetForTimestamp(10_525), {
        timestamp: 10_530,
        offset: 28,
        leaderEpoch: 1,
      });
      assert.equal(log.offsetForTimestamp(99_999), null);
      assert.deepEqual(log.maxTimestampAndOffset(), {
        timestamp: 11_940,
        offset: 99,
        leaderEpoch: 1,
      });
    },
  );

  test(
    "endOffsetForLeaderEpoch answers divergence queries (KIP-101, KIP-595)",
    logConfig(),
    async ({ log }) => {
      await log.append(makeBatch({ records: 3 }), { leaderEpoch: 1, nowMs: NOW_MS });
      await log.append(makeBatch({ records: 2 }), { leaderEpoch: 3, nowMs: NOW_MS });
      await log.append(makeBatch({ records: 2 }), { leaderEpoch: 3, nowMs: NOW_MS });
      await log.append(makeBatch({ records: 1 }), { leaderEpoch: 4, nowMs: NOW_MS });
      assert.deepEqual(log.epochEntries(), [
        { epoch: 1, startOffset: 0 },
        { epoch: 3, startOffset: 3 },
        { epoch: 4, startOffset: 7 },
      ]);
      assert.deepEqual(log.endOffsetForLeaderEpoch(4), { epoch: 4, endOffset: 8 });
      assert.deepEqual(log.endOffsetForLeaderEpoch(3), { epoch: 3, endOffset: 7 });
      assert.deepEqual(log.endOffsetForLeaderEpoch(2), { epoch: 1, endOffset: 3 });
      assert.deepEqual(log.endOffsetForLeaderEpoch(0), { epoch: 0, endOffset: 0 });
      assert.deepEqual(log.endOffsetForLeaderEpoch(9), { epoch: -1, endOffset: -1 });
      assert.equal(log.latestEpoch(), 4);
    },
  );

  test(
    "a follower append keeps offsets and epochs and refuses to go backwards",
    logConfig(),
    async ({ log }) => {
      const batch = makeBatch({ records: 3, baseOffset: 0, partitionLeaderEpoch: 2 });
      const later = makeBatch({ records: 2, baseOffset: 3, partitionLeaderEpoch: 4 });
      const partial = makeBatch({ records: 1, baseOffset: 5 }).subarray(0, 30);
      const result = await log.appendAsFollower(concatBytes([batch, later, partial]), {
        nowMs: NOW_MS,
      });
      assert.deepEqual([result.baseOffset, result.lastOffset, result.batchCount], [0, 4, 2]);
      assert.deepEqual(log.epochEntries(), [{ epoch: 2, startOffset: 0 }, {
        epoch: 4,
        startOffset: 3,
      }]);
      await assertLogError(
        log.appendAsFollower(makeBatch({ baseOffset: 4 }), { nowMs: NOW_MS }),
        LogErrorCode.INVALID_RECORD,
      );
      const { records } = await log.read(0, { maxBytes: 1 << 20 });
      assert.deepEqual(records, concatBytes([batch, later]));
    },
  );

  test(
    "truncateTo drops whole batches at or after the offset and the epochs with them",
    logConfig({ segmentBytes: 1000 }),
    async ({ log }) => {
      for (let epoch = 0; epoch < 6; epoch++) {
        await log.append(makeBatch({ records: 2, valueBytes: 200 }), {
          leaderEpoch: epoch,
          nowMs: NOW_MS,
        });
      }
      assert.ok(log.segmentCount > 1);
      assert.equal(await log.truncateTo(12), false);
      assert.equal(await log.truncateTo(7), true);
      assert.equal(log.logEndOffset, 6, "the batch holding 7 (6..7) goes whole");
      assert.equal(log.latestEpoch(), 2);
      assert.deepEqual(log.endOffsetForLeaderEpoch(2), { epoch: 2, endOffset: 6 });
      const appended = await log.append(makeBatch(), { leaderEpoch: 9, nowMs: NOW_MS });
      assert.equal(appended.baseOffset, 6);
      const all = await log.read(0, { maxBytes: 1 << 20 });
      assert.equal(all.logEndOffset, 7);
      await log.truncateTo(0);
      assert.deepEqual([log.logStartOffset, log.logEndOffset, log.segmentCount], [0, 0, 1]);
    },
  );

  test("truncateFullyAndStartAt empties the log at a new offset", logConfig(), async ({ log }) => {
    await log.append(makeBatch({ records: 3 }), { leaderEpoch: 1, nowMs: NOW_MS });
    await log.truncateFullyAndStartAt(100);
    assert.deepEqual([log.logStartOffset, log.logEndOffset], [100, 100]);
    assert.deepEqual(log.epochEntries(), []);
    await assertLogError(log.read(0, { maxBytes: 10 }), LogErrorCode.OFFSET_OUT_OF_RANGE);
    const result = await log.append(makeBatch(), { leaderEpoch: 2, nowMs: NOW_MS });
    assert.equal(result.baseOffset, 100);
  });

  test(
    "deleteRecordsBefore moves the log start and reads below it fail",
    logConfig({ segmentBytes: 700 }),
    async ({ log }) => {
      for (let i = 0; i < 8; i++) {
        await log.append(makeBatch({ records: 2, valueBytes: 200 }), {
          leaderEpoch: 0,
          nowMs: NOW_MS,
        });
      }
      const segmentsBefore = log.segmentCount;
      assert.equal(await log.deleteRecordsBefore(9), 9);
      assert.equal(log.logStartOffset, 9);
      assert.ok(log.segmentCount < segmentsBefore, "segments wholly below the start are deleted");
      await assertLogError(log.read(8, { maxBytes: 10 }), LogErrorCode.OFFSET_OUT_OF_RANGE);
      const read = await log.read(9, { maxBytes: 10 });
      assert.equal(read.firstOffset, 8, "the batch holding the start offset is returned whole");
      await assertLogError(log.deleteRecordsBefore(17), LogErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(await log.deleteRecordsBefore(3), 9);
      assert.deepEqual(log.epochEntries(), [{ epoch: 0, startOffset: 9 }]);
    },
  );

  test(
    "retention.bytes deletes old segments but never the active one",
    logConfig({ segmentBytes: 1000, retentionBytes: 1500 }),
    async ({ log }) => {
      for (let i = 0; i < 12; i++) {
        await log.append(makeBatch({ records: 1, valueBytes: 400 }), {
          leaderEpoch: 0,
          nowMs: NOW_MS,
        });
      }
      const deleted = await log.deleteOldSegments({ nowMs: NOW_MS });
      assert.ok(deleted > 0);
      assert.ok(log.sizeBytes <= 1500 + 1000, `size ${log.sizeBytes}`);
      assert.ok(log.logStartOffset > 0);
      const read = await log.read(log.logStartOffset, { maxBytes: 1 << 20 });
      assert.equal(read.firstOffset, log.logStartOffset);
      const again = await log.deleteOldSegments({ nowMs: NOW_MS });
      assert.equal(again, 0);
    },
  );

  test(
    "retention.ms deletes segments whose newest record is too old, bounded by the high watermark",
    logConfig({ segmentBytes: 600, retentionMs: 1000 }),
    async ({ log }) => {
      for (let i = 0; i < 6; i++) {
        await log.append(
          makeBatch({ records: 1, valueBytes: 400, timestampMs: 10_000 + i * 1000 }),
          { leaderEpoch: 0, nowMs: NOW_MS },
        );
      }
      assert.equal(log.segmentCount, 6);
      assert.equal(
        await log.deleteOldSegments({ nowMs: 14_500, highWatermark: 2 }),
        2,
        "bounded by the high watermark",
      );
      assert.equal(
        await log.deleteOldSegments({ nowMs: 14_500 }),
        2,
        "segments up to ts 13_000 expire at 14_500",
      );
      assert.equal(log.logStartOffset, 4);
      assert.equal(
        await log.deleteOldSegments({ nowMs: 1e12, highWatermark: 5 }),
        1,
        "the active segment stays while the high watermark is inside it",
      );
      assert.equal(
        await log.deleteOldSegments({ nowMs: 1e12 }),
        1,
        "an expired active segment goes too, after a roll",
      );
      assert.equal(log.segmentCount, 1);
      assert.equal(log.logStartOffset, 6, "the log start offset reaches the log end");
      assert.equal(log.logEndOffset, 6);
      assert.equal((await log.read(6, { maxBytes: 1 << 20 })).records.length, 0);
      assert.equal(await log.deleteOldSegments({ nowMs: 1e12 }), 0, "an empty segment stays");
      await log.append(makeBatch({ records: 1, timestampMs: 1e12 }), {
        leaderEpoch: 0,
        nowMs: NOW_MS,
      });
      assert.equal(log.logEndOffset, 7, "appends continue at the old log end");
    },
  );

  test(
    "infinite retention keeps everything",
    logConfig({ segmentBytes: 600, retentionMs: -1 }),
    async ({ log }) => {
      for (let i = 0; i < 4; i++) {
        await log.append(makeBatch({ valueBytes: 400, timestampMs: 1 }), {
          leaderEpoch: 0,
          nowMs: NOW_MS,
        });
      }
      assert.equal(await log.deleteOldSegments({ nowMs: 1e13 }), 0);
    },
  );

  test(
    "segment.ms rolls by the first batch's timestamp",
    logConfig({ segmentMs: 1000 }),
    async ({ log }) => {
      await log.append(makeBatch({ timestampMs: 10_000 }), { leaderEpoch: 0, nowMs: NOW_MS });
      await log.append(makeBatch({ timestampMs: 10_900 }), { leaderEpoch: 0, nowMs: NOW_MS });
      assert.equal(log.segmentCount, 1);
      await log.append(makeBatch({ timestampMs: 11_001 }), { leaderEpoch: 0, nowMs: NOW_MS });
      assert.equal(log.segmentCount, 2);
    },
  );

  Deno.test(`${name}: a seeded random walk agrees with a simple model`, async () => {
    for (const seed of [1, 2, 3]) await randomWalk(factory, seed);
  });
}

interface ModelBatch {
  base: number;
  last: number;
  bytes: Uint8Array;
}

/** Appends, reads, truncations, DeleteRecords and retention checked against a list of batches. */
async function randomWalk(factory: LogFactory, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const config = logConfig({ segmentBytes: 4096, indexIntervalBytes: 512, retentionBytes: 12_000 });
  const t = await factory(config);
  let log = t.log;
  const model: ModelBatch[] = [];
  let logStart = 0;
  let epoch = 0;
  const end = () => model.at(-1) ? model.at(-1)!.last + 1 : logStart;
  try {
    for (let step = 0; step < 300; step++) {
      const op = random.intBelow(100);
      if (op < 55) {
        const parts = Array.from(
          { length: 1 + random.intBelow(3) },
          () =>
            makeBatch({
              records: 1 + random.intBelow(4),
              valueBytes: 10 + random.intBelow(600),
              fill: step & 0xff,
              timestampMs: 1000 + step,
            }),
        );
        const buffer = concatBytes(parts);
        if (random.intBelow(10) === 0) epoch++;
        const result = await log.append(buffer, { leaderEpoch: epoch, nowMs: NOW_MS });
        assert.equal(result.baseOffset, end());
        let pos = 0;
        for (const { base, last } of batchOffsets(buffer)) {
          const size = 12 + new DataView(buffer.buffer).getInt32(pos + 8);
          model.push({ base, last, bytes: buffer.slice(pos, pos + size) });
          pos += size;
        }
      } else if (op < 80) {
        const from = logStart + random.intBelow(end() - logStart + 1);
        const maxBytes = random.intBelow(3000);
        const { records } = await log.read(from, { maxBytes });
        const firstIndex = model.findIndex((b) => b.last >= from);
        if (firstIndex < 0) {
          assert.equal(records.length, 0);
          continue;
        }
        const got = batchOffsets(records);
        assert.ok(got.length >= 1, `seed ${seed} step ${step}: minOneMessage`);
        assert.ok(got.length === 1 || records.length <= maxBytes);
        let at = 0;
        got.forEach((batch, i) => {
          const expected = model[firstIndex + i]!;
          assert.equal(batch.base, expected.base);
          assert.deepEqual(records.subarray(at, at + expected.bytes.length), expected.bytes);
          at += expected.bytes.length;
        });
      } else if (op < 88 && model.length > 0) {
        const candidates = model.filter((b) => b.base > logStart);
        if (candidates.length === 0) continue;
        const cut = candidates[random.intBelow(candidates.length)]!.base;
        await log.truncateTo(cut);
        model.splice(model.findIndex((b) => b.base === cut));
        assert.equal(log.logEndOffset, cut);
      } else if (op < 93) {
        const to = logStart + random.intBelow(end() - logStart + 1);
        assert.equal(await log.deleteRecordsBefore(to), to);
        logStart = to;
      } else if (op < 98) {
        await log.deleteOldSegments({ nowMs: NOW_MS });
        const moved = log.logStartOffset;
        assert.ok(moved >= logStart);
        assert.ok(moved === logStart || moved === end() || model.some((b) => b.base === moved));
        logStart = log.logStartOffset;
      } else if (t.reopen) {
        log = await t.reopen();
      }
      while (model.length > 0 && model[0]!.last < logStart) model.shift();
      assert.equal(log.logEndOffset, end(), `seed ${seed} step ${step}: log end`);
      assert.equal(log.logStartOffset, logStart, `seed ${seed} step ${step}: log start`);
      assert.ok(log.recoveryPoint <= log.logEndOffset);
    }
  } finally {
    await t.cleanup();
  }
}
