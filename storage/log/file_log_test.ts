import assert from "node:assert/strict";
import { FileLog } from "./file_log.ts";
import { type LogFactory, runLogConformance } from "./log_conformance.ts";
import { HandleCache } from "./handle_cache.ts";
import { logConfig } from "./log_config.ts";
import { MemoryLog } from "./memory_log.ts";
import { SeededRandom } from "../../core/random.ts";
import { batchOffsets, concatBytes, makeBatch } from "./test_batches.ts";
import type { PartitionLog } from "./partition_log.ts";

const NOW_MS = 1_700_000_000_000;
const quiet = () => {};

const fileLogFactory = (handleCache?: HandleCache): LogFactory => async (config) => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/topic-0`;
  let log = await FileLog.open({ dir, config, warn: quiet, handleCache });
  let reopens = 0;
  return {
    log,
    reopen: async () => {
      const clean = reopens++ % 2 === 0;
      const state = { recoveryPoint: log.recoveryPoint, logStartOffset: log.logStartOffset };
      if (clean) await log.close();
      else {
        await log.flush();
        log.closeAbruptly();
      }
      log = await FileLog.open({
        dir,
        config,
        warn: quiet,
        hadCleanShutdown: clean,
        recoveryPoint: clean ? state.recoveryPoint : 0,
        logStartOffset: state.logStartOffset,
        handleCache,
      });
      return log;
    },
    cleanup: async () => {
      await log.close();
      await Deno.remove(root, { recursive: true });
    },
  };
};

runLogConformance("file log", fileLogFactory());
// One idle handle for every file of the log: each use of another file evicts and reopens.
runLogConformance("file log with a one-handle cache", fileLogFactory(new HandleCache(1)));

async function withDir(body: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the file log writes Kafka's file layout", async () => {
  await withDir(async (root) => {
    const dir = `${root}/orders-3`;
    const log = await FileLog.open({
      dir,
      config: logConfig({ segmentBytes: 2000, indexIntervalBytes: 100 }),
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
    });
    for (let i = 0; i < 10; i++) {
      await log.append(makeBatch({ valueBytes: 300, timestampMs: 5000 + i }), {
        leaderEpoch: 7,
        nowMs: NOW_MS,
      });
    }
    await log.close();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    names.sort();
    assert.ok(names.includes("00000000000000000000.log"));
    assert.ok(names.includes("00000000000000000000.index"));
    assert.ok(names.includes("00000000000000000000.timeindex"));
    assert.ok(names.includes("00000000000000000005.log"), names.join(","));
    assert.equal(await Deno.readTextFile(`${dir}/leader-epoch-checkpoint`), "0\n1\n7 0\n");
    assert.equal(
      await Deno.readTextFile(`${dir}/partition.metadata`),
      "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n",
    );
    const index = await Deno.readFile(`${dir}/00000000000000000000.index`);
    assert.equal(index.length % 8, 0);
    assert.ok(index.length >= 8);
    const view = new DataView(index.buffer);
    assert.equal(view.getInt32(0), 1, "entry for the second batch (relative offset 1)");
    assert.equal(view.getInt32(4), (await Deno.stat(`${dir}/00000000000000000000.log`)).size / 5);
    const timeIndex = await Deno.readFile(`${dir}/00000000000000000000.timeindex`);
    assert.equal(timeIndex.length % 12, 0);
    const tv = new DataView(timeIndex.buffer);
    assert.equal(tv.getUint32(timeIndex.length - 8), 5004, "final entry holds the max timestamp");
    assert.equal(tv.getInt32(timeIndex.length - 4), 4);
  });
});

Deno.test("the file log cuts segments at the same offsets as the memory log", async () => {
  await withDir(async (root) => {
    const config = logConfig({
      segmentBytes: 3000,
      indexIntervalBytes: 64,
      segmentIndexBytes: 80,
      segmentMs: 50,
    });
    const file = await FileLog.open({ dir: `${root}/t-0`, config, warn: quiet, nowMs: NOW_MS });
    const memory = new MemoryLog({ config, nowMs: NOW_MS });
    const random = new SeededRandom(9);
    for (let i = 0; i < 200; i++) {
      const options = {
        records: 1 + random.intBelow(3),
        valueBytes: random.intBelow(400),
        timestampMs: i * 7,
      };
      await file.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
      await memory.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
      if (i % 50 === 49) {
        await file.truncateTo(file.logEndOffset - 3);
        await memory.truncateTo(memory.logEndOffset - 3);
      }
    }
    assert.deepEqual(file.segmentBaseOffsets(), memory.segmentBaseOffsets());
    assert.ok(file.segmentCount > 10);
    for (let offset = 0; offset < file.logEndOffset; offset += 13) {
      const a = await file.read(offset, { maxBytes: 2000 });
      const b = await memory.read(offset, { maxBytes: 2000 });
      assert.deepEqual(a, b);
    }
    await file.close();
  });
});

Deno.test("concurrent appends share fsyncs (group commit) and all become durable", async () => {
  await withDir(async (root) => {
    const log = await FileLog.open({ dir: `${root}/t-0`, warn: quiet });
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        () => log.append(makeBatch({ valueBytes: 100 }), { leaderEpoch: 0, nowMs: NOW_MS }),
      ),
    );
    assert.deepEqual(results.map((r) => r.baseOffset), Array.from({ length: 200 }, (_, i) => i));
    assert.equal(log.recoveryPoint, 200);
    assert.ok(log.flushCount < 20, `${log.flushCount} flushes for 200 appends`);
    await log.close();
  });
});

Deno.test("with flush.messages set, appends are acknowledged before fsync and flushed by count", async () => {
  await withDir(async (root) => {
    const log = await FileLog.open({
      dir: `${root}/t-0`,
      warn: quiet,
      config: logConfig({ flushMessages: 5 }),
    });
    for (let i = 0; i < 4; i++) await log.append(makeBatch(), { leaderEpoch: 0, nowMs: NOW_MS });
    assert.equal(log.recoveryPoint, 0);
    await log.append(makeBatch(), { leaderEpoch: 0, nowMs: NOW_MS });
    assert.equal(log.recoveryPoint, 5);
    await log.close();
  });
});

Deno.test("with flush.ms set, flushIfDue flushes once the interval passed", async () => {
  await withDir(async (root) => {
    const log = await FileLog.open({
      dir: `${root}/t-0`,
      warn: quiet,
      config: logConfig({ flushMs: 1000 }),
    });
    await log.append(makeBatch(), { leaderEpoch: 0, nowMs: NOW_MS });
    assert.equal(log.recoveryPoint, 0);
    await log.flushIfDue(Date.now());
    assert.equal(log.recoveryPoint, 0);
    await log.flushIfDue(Date.now() + 1000);
    assert.equal(log.recoveryPoint, 1);
    await log.close();
  });
});

Deno.test("a reopened log serves the same bytes and keeps appending", async () => {
  await withDir(async (root) => {
    const dir = `${root}/t-0`;
    const config = logConfig({ segmentBytes: 5000, indexIntervalBytes: 200 });
    const log = await FileLog.open({ dir, config, warn: quiet });
    for (let i = 0; i < 50; i++) {
      await log.append(makeBatch({ records: 2, valueBytes: 150 }), {
        leaderEpoch: Math.floor(i / 10),
        nowMs: NOW_MS,
      });
    }
    const before = await readAll(log);
    const recoveryPoint = log.recoveryPoint;
    await log.close();
    for (const clean of [true, false]) {
      const again = await FileLog.open({
        dir,
        config,
        warn: quiet,
        hadCleanShutdown: clean,
        recoveryPoint: clean ? recoveryPoint : 0,
      });
      assert.equal(again.logEndOffset, 100);
      assert.deepEqual(await readAll(again), before);
      assert.deepEqual(again.epochEntries().map((e) => e.epoch), [0, 1, 2, 3, 4]);
      await again.close();
    }
  });
});

/** Every stored batch from the log start to the end, segment by segment. */
async function readAll(log: PartitionLog): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 100_000 && offset < log.logEndOffset; i++) {
    const { records } = await log.read(offset, { maxBytes: 1 << 20 });
    parts.push(records);
    offset = batchOffsets(records).at(-1)!.last + 1;
  }
  return concatBytes(parts);
}

Deno.test("an expired active segment is rolled and deleted, and the log start stays at the end after a reopen", async () => {
  await withDir(async (root) => {
    const dir = `${root}/quiet-0`;
    const config = logConfig({ retentionMs: 5_000 });
    const log = await FileLog.open({ dir, config, warn: quiet });
    for (let i = 0; i < 5; i++) {
      await log.append(makeBatch({ records: 10, timestampMs: NOW_MS }), {
        leaderEpoch: 0,
        nowMs: NOW_MS,
      });
    }
    assert.equal(log.segmentCount, 1);
    assert.equal(await log.deleteOldSegments({ nowMs: NOW_MS + 4_000 }), 0, "not yet expired");
    assert.equal(await log.deleteOldSegments({ nowMs: NOW_MS + 6_000 }), 1);
    assert.equal(log.logStartOffset, 50);
    assert.equal(log.logEndOffset, 50);
    assert.deepEqual(log.segmentBaseOffsets(), [50]);
    const logs = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log"));
    assert.deepEqual(logs, ["00000000000000000050.log"], "the expired segment's files are gone");
    await log.close();
    const reopened = await FileLog.open({ dir, config, warn: quiet, hadCleanShutdown: true });
    try {
      assert.equal(reopened.logStartOffset, 50);
      assert.equal(reopened.logEndOffset, 50);
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("reads of older segments run off the event loop and stay exact while appends go on", async () => {
  await withDir(async (root) => {
    const config = logConfig({ segmentBytes: 4000, indexIntervalBytes: 100 });
    const log = await FileLog.open({ dir: `${root}/t-0`, config, warn: quiet, nowMs: NOW_MS });
    const memory = new MemoryLog({ config, nowMs: NOW_MS });
    for (let i = 0; i < 40; i++) {
      const options = { valueBytes: 500, timestampMs: i };
      await log.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
      await memory.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
    }
    assert.ok(log.segmentCount > 3, "several segments, so offset 0 is in a cold one");
    // Start reads of the first segment, then append while they are in flight.
    const reads = [0, 3, 6].map((offset) => log.read(offset, { maxBytes: 3000 }));
    const appends = [];
    for (let i = 0; i < 10; i++) {
      const options = { valueBytes: 500, timestampMs: 100 + i };
      appends.push(log.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS }));
      await memory.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
    }
    await Promise.all(appends);
    const results = await Promise.all(reads);
    for (const [i, offset] of [0, 3, 6].entries()) {
      const expected = await memory.read(offset, { maxBytes: 3000 });
      assert.deepEqual(results[i]!.records, expected.records, `bytes at offset ${offset}`);
    }
    await log.close();
  });
});

Deno.test("reads of 64 KiB and more land in the caller's buffers, smaller ones in fresh memory", async () => {
  await withDir(async (root) => {
    const config = logConfig({ segmentBytes: 1 << 20 });
    const log = await FileLog.open({ dir: `${root}/t-0`, config, warn: quiet, nowMs: NOW_MS });
    const memory = new MemoryLog({ config, nowMs: NOW_MS });
    for (let i = 0; i < 100; i++) {
      const options = { valueBytes: 1000, timestampMs: i };
      await log.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
      await memory.append(makeBatch(options), { leaderEpoch: 0, nowMs: NOW_MS });
    }
    const lent: Uint8Array[] = [];
    const buffers = {
      take: (sizeBytes: number) => {
        const buffer = new Uint8Array(sizeBytes).fill(0xee); // stale bytes of an earlier read
        lent.push(buffer);
        return buffer;
      },
    };
    const large = await log.read(0, { maxBytes: 80_000, buffers });
    assert.equal(lent.length, 1);
    assert.equal(large.records.buffer, lent[0]!.buffer);
    assert.deepEqual(large.records, (await memory.read(0, { maxBytes: 80_000 })).records);
    const small = await log.read(5, { maxBytes: 3_000, buffers });
    assert.equal(lent.length, 1, "a small read takes no pooled buffer");
    assert.deepEqual(small.records, (await memory.read(5, { maxBytes: 3_000 })).records);
    await log.close();
  });
});

Deno.test("an append whose CRCs the caller verified skips the check, others still refuse a bad CRC", async () => {
  await withDir(async (root) => {
    const config = logConfig({});
    const log = await FileLog.open({ dir: `${root}/t-0`, config, warn: quiet, nowMs: NOW_MS });
    const corrupt = makeBatch({ valueBytes: 10 });
    corrupt[corrupt.length - 1]! ^= 0xff; // a value byte: the CRC no longer matches
    await assert.rejects(log.append(corrupt, { leaderEpoch: 0, nowMs: NOW_MS }), /CRC/);
    assert.equal(log.logEndOffset, 0);
    // The broker's LogValidator checked these already (Partition.appendFromClient).
    const checked = makeBatch({ valueBytes: 10 });
    await log.append(checked, { leaderEpoch: 0, nowMs: NOW_MS, crcVerified: true });
    assert.equal(log.logEndOffset, 1);
    await log.close();
  });
});

Deno.test("segment.jitter.ms rolls each new segment a random share of it before segment.ms", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = logConfig({ segmentMs: 10_000, segmentJitterMs: 8_000 });
    const rollsAfterMs: number[] = [];
    for (let run = 0; run < 20; run++) {
      const log = await FileLog.open({ dir: `${dir}/j-${run}`, config, warn: () => {} });
      let t = 1_000;
      await log.append(makeBatch({ timestampMs: t }), { leaderEpoch: 0, nowMs: t });
      // Bounded: at most segment.ms in 100 ms steps before a roll must have happened.
      while (log.segmentCount === 1 && t < 1_000 + 10_100) {
        t += 100;
        await log.append(makeBatch({ timestampMs: t }), { leaderEpoch: 0, nowMs: t });
      }
      rollsAfterMs.push(t - 1_000);
      await log.close();
    }
    assert.ok(rollsAfterMs.every((ms) => ms > 2_000 && ms <= 10_100), `${rollsAfterMs}`);
    assert.ok(new Set(rollsAfterMs).size > 1, `jittered: ${rollsAfterMs}`);
    assert.ok(
      rollsAfterMs.some((ms) => ms < 10_000),
      `some roll before segment.ms: ${rollsAfterMs}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
